// Exchange event -> strategy latency of BloFin prices, pushed (blofin-ws) next
// to polled (blofin at its fastest allowed rate: interval_ms 300, the poll
// then takes half of the default 400 requests a minute; docs/price.md), in
// one run against the local fake BloFin built from the docs. Baseline: the
// poll.
//
// An "event" is one POST /_control/tickers changing one pair's last price
// (pairs in turn, each changed every 1.2 s: BloFin pushes a pair at most once
// a second, index.md "WS Tickers Channel", which the fake keeps). Latency =
// from just before that call to the moment a callback subscriber of each
// PriceModule (what strategies are) receives the new price.
//
//   price_ws_latency_bench [events]      (default 40, about 16 s)
// Prints p50/p99 of both, their ratio, and each source's REST requests a
// minute. Nothing passes or fails.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/price/price_config.h"
#include "server/price/price_module.h"
#include "spdlog/spdlog.h"
#include "tests/support/fake_blofin.h"

namespace xctl {
namespace {

const std::vector<std::string> kPairs = {"BTC-USDT", "ETH-USDT", "SOL-USDT"};
constexpr absl::Duration kGap = absl::Milliseconds(400);

// When each price (by its last, unique per event) reached the subscriber.
class Arrivals {
 public:
  void On(const std::vector<TickPtr>& ticks) {
    const int64_t now = SteadyMicros();
    absl::MutexLock lock(&mu_);
    for (const TickPtr& t : ticks) at_.try_emplace(t->last.ToString(), now);
  }
  int64_t At(const std::string& last) {
    absl::MutexLock lock(&mu_);
    auto it = at_.find(last);
    return it == at_.end() ? -1 : it->second;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int64_t> at_ ABSL_GUARDED_BY(mu_);
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

std::string TickersJson(const std::vector<std::string>& last) {
  std::string out = "{";
  for (size_t i = 0; i < kPairs.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "\"", kPairs[i], "\":{\"last\":\"", last[i], "\"}");
  }
  return out + "}";
}

int Main(int events) {
  spdlog::set_level(spdlog::level::warn);
  testing::FakeBlofin fake(/*websocket=*/true);
  if (!fake.ok() || !fake.WsControl(R"({"connect_interval_ms":0})")) {
    std::fprintf(stderr, "the fake BloFin with its WebSocket did not start\n");
    return 1;
  }
  std::vector<std::string> last = {"64000", "3200", "150"};
  fake.SetTickers(TickersJson(last));

  PriceConfig poll_config;
  poll_config.source = "blofin";
  poll_config.pairs = kPairs;
  poll_config.interval_ms = 300;  // the fastest ValidatePriceConfig allows at 400 a minute
  poll_config.blofin_url = fake.base_url();
  PriceConfig push_config = poll_config;
  push_config.source = "blofin-ws";
  push_config.interval_ms = 1000;
  push_config.blofin_ws_url = fake.ws_url();
  for (const PriceConfig* c : {&poll_config, &push_config}) {
    if (absl::Status s = ValidatePriceConfig(*c); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  PriceModule poll(poll_config, MakePriceSource(poll_config).value());
  PriceModule push(push_config, MakePriceSource(push_config).value());
  Arrivals poll_at, push_at;
  auto poll_sub = poll.SubscribeCallback({}, [&](const auto& t) { poll_at.On(t); });
  auto push_sub = push.SubscribeCallback({}, [&](const auto& t) { push_at.On(t); });
  push.Start();
  for (int i = 0; i < 200 && push.Snapshot().size() < kPairs.size(); ++i) {
    absl::SleepFor(absl::Milliseconds(20));  // connected, subscribed, snapshot taken
  }
  const int requests_before = fake.Requests("GET /api/v1/market/tickers");
  const int connects_before = fake.WsStat("connects");
  const absl::Time start = absl::Now();
  poll.Start();

  std::vector<std::pair<std::string, int64_t>> sent;  // last, steady µs just before
  for (int e = 0; e < events; ++e) {
    const size_t pair = e % kPairs.size();
    last[pair] = absl::StrCat(pair == 0 ? 65000 : pair == 1 ? 3300 : 160, ".", e + 1);
    sent.emplace_back(last[pair], SteadyMicros());
    fake.SetTickers(TickersJson(last));
    absl::SleepFor(kGap);  // the next event; the fake's push limit needs the pace
  }
  absl::SleepFor(absl::Milliseconds(500));  // the last event's poll
  const double minutes = absl::ToDoubleMinutes(absl::Now() - start);
  poll.Stop();
  push.Stop();
  // Each reconnect of blofin-ws takes one snapshot; every other request is the poll's.
  const int push_requests = fake.WsStat("connects") - connects_before;
  const int requests =
      fake.Requests("GET /api/v1/market/tickers") - requests_before - push_requests;

  std::vector<double> poll_ms, push_ms;
  int poll_missed = 0, push_missed = 0;
  for (const auto& [price, at] : sent) {
    const int64_t p = poll_at.At(Decimal::Parse(price)->ToString());
    const int64_t w = push_at.At(Decimal::Parse(price)->ToString());
    if (p < 0) ++poll_missed; else poll_ms.push_back((p - at) / 1000.0);
    if (w < 0) ++push_missed; else push_ms.push_back((w - at) / 1000.0);
  }
  const double poll_p50 = Percentile(poll_ms, 0.5), poll_p99 = Percentile(poll_ms, 0.99);
  const double push_p50 = Percentile(push_ms, 0.5), push_p99 = Percentile(push_ms, 0.99);
  std::printf("price_ws_latency_bench: %d events, one pair changed every %lld ms, "
              "3 pairs (each at most once a second)\n",
              events, static_cast<long long>(absl::ToInt64Milliseconds(kGap)));
  std::printf("  %-34s p50 %7.1f ms  p99 %7.1f ms  missed %d  REST %5.1f/min\n",
              "blofin (REST poll, 300 ms; baseline)", poll_p50, poll_p99, poll_missed,
              requests / minutes);
  std::printf("  %-34s p50 %7.1f ms  p99 %7.1f ms  missed %d  REST %5.1f/min  "
              "ratio p50 %.3fx p99 %.3fx\n",
              "blofin-ws (WebSocket push)", push_p50, push_p99, push_missed, push_requests / minutes,
              poll_p50 > 0 ? push_p50 / poll_p50 : 0, poll_p99 > 0 ? push_p99 / poll_p99 : 0);
  return 0;
}

}  // namespace
}  // namespace xctl

int main(int argc, char** argv) { return xctl::Main(argc > 1 ? std::atoi(argv[1]) : 40); }
