#include "server/strategy/tick_latency.h"

#include <algorithm>

#include "server/common/log.h"

namespace xctl {

void TickLatency::Record(int64_t latency_us, int64_t now_us) {
  std::optional<Figures> closed;
  {
    absl::MutexLock lock(&mu_);
    if (window_start_us_ == 0) window_start_us_ = now_us;
    samples_.push_back(std::max<int64_t>(0, latency_us));
    if (now_us - window_start_us_ < absl::ToInt64Microseconds(window_)) return;
    closed = Summarize(samples_);
    samples_.clear();
    window_start_us_ = now_us;
    last_ = closed;
  }
  spdlog::info("event=strategy_tick_latency count={} p50_us={} p99_us={} max_us={}",
               closed->count, closed->p50_us, closed->p99_us, closed->max_us);
}

std::optional<TickLatency::Figures> TickLatency::LastWindow() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

TickLatency::Figures TickLatency::Summarize(std::vector<int64_t>& samples) {
  Figures f;
  f.count = samples.size();
  if (samples.empty()) return f;
  auto at = [&](double q) {
    auto nth = samples.begin() + static_cast<ptrdiff_t>(q * static_cast<double>(samples.size() - 1));
    std::nth_element(samples.begin(), nth, samples.end());
    return *nth;
  };
  f.p50_us = at(0.50);
  f.p99_us = at(0.99);
  f.max_us = *std::max_element(samples.begin(), samples.end());
  return f;
}

}  // namespace xctl
