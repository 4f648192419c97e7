#include "server/common/request_budget.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"

namespace xctl {
namespace {

// "https://openapi.blofin.com/api" -> "https://openapi.blofin.com".
std::string HostOf(absl::string_view url) {
  size_t start = url.find("://");
  start = start == absl::string_view::npos ? 0 : start + 3;
  size_t end = url.find('/', start);
  return std::string(url.substr(0, end));
}

absl::Status Exhausted(absl::string_view what, absl::Duration wait) {
  return WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          what, "; next slot in ", std::max<int64_t>(1, absl::ToInt64Milliseconds(wait)), " ms")),
      reason::kExchangeRateLimited);
}

}  // namespace

RequestBudget::RequestBudget(std::string host, RequestLimits limits, const Clock* clock)
    : host_(std::move(host)), limits_(limits), clock_(clock) {}

namespace {

absl::Mutex registry_mu(absl::kConstInit);

// The shared budgets by host; never destroyed (used until exit).
absl::flat_hash_map<std::string, std::shared_ptr<RequestBudget>>& Registry()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(registry_mu) {
  static auto* registry = new absl::flat_hash_map<std::string, std::shared_ptr<RequestBudget>>();
  return *registry;
}

}  // namespace

std::shared_ptr<RequestBudget> RequestBudget::ForHost(absl::string_view base_url,
                                                      const RequestLimits& limits,
                                                      const Clock* clock) {
  const std::string host = HostOf(base_url);
  // The first caller's limits and clock stand for everyone.
  absl::MutexLock lock(&registry_mu);
  auto& slot = Registry()[host];
  if (!slot) slot = std::make_shared<RequestBudget>(host, limits, clock);
  return slot;
}

std::vector<std::shared_ptr<RequestBudget>> RequestBudget::Shared() {
  absl::MutexLock lock(&registry_mu);
  std::vector<std::shared_ptr<RequestBudget>> all;
  for (const auto& [host, budget] : Registry()) all.push_back(budget);
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a->host() < b->host(); });
  return all;
}

absl::string_view RequestBudget::KindName(Kind kind) {
  switch (kind) {
    case Kind::kPublic: return "public";
    case Kind::kPrivate: return "private";
    case Kind::kTrade: return "trade";
    case Kind::kSync: return "sync";
  }
  return "public";
}

RequestBudget::Counts RequestBudget::counts() const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

void RequestBudget::ExpireLocked(absl::Time now) {
  while (!minute_.empty() && minute_.front() <= now - absl::Minutes(1)) minute_.pop_front();
}

absl::Status RequestBudget::Acquire(Kind kind, absl::string_view account, bool trade_window) {
  absl::MutexLock lock(&mu_);
  absl::Status status = AcquireLocked(kind, account, trade_window);
  ++(status.ok() ? counts_.sent : counts_.refused)[static_cast<int>(kind)];
  return status;
}

absl::Status RequestBudget::AcquireLocked(Kind kind, absl::string_view account,
                                          bool trade_window) {
  const absl::Time now = clock_->Now();
  if (now < blocked_until_) {
    return Exhausted(absl::StrCat(host_, " asked xctl to back off (", blocked_reason_,
                                  "); nothing is sent to it until then"),
                     blocked_until_ - now);
  }
  ExpireLocked(now);
  const int used = static_cast<int>(minute_.size());
  const int reserve = kind == Kind::kSync ? limits_.per_minute / 4 : 0;
  if (used + reserve >= limits_.per_minute) {
    return Exhausted(absl::StrCat("xctl keeps to ", limits_.per_minute, " requests a minute to ",
                                  host_, " (BloFin allows 500 per IP)",
                                  kind == Kind::kSync ? "; background refreshes wait" : ""),
                     minute_.empty()
                         ? absl::Seconds(1)
                         : minute_[std::min(used - 1, used + reserve - limits_.per_minute)] +
                               absl::Minutes(1) - now);
  }
  if (kind == Kind::kTrade || trade_window) {
    std::deque<absl::Time>& times = trades_[account];
    while (!times.empty() && times.front() <= now - limits_.trade_window) times.pop_front();
    if (static_cast<int>(times.size()) >= limits_.trade_per_window) {
      return Exhausted(absl::StrCat("BloFin allows ", limits_.trade_per_window,
                                    " trading requests per ",
                                    absl::FormatDuration(limits_.trade_window), " per account"),
                       times.front() + limits_.trade_window - now);
    }
    times.push_back(now);
  }
  minute_.push_back(now);
  return absl::OkStatus();
}

void RequestBudget::BackOff(absl::Duration d, absl::string_view reason) {
  absl::MutexLock lock(&mu_);
  const absl::Time until = clock_->Now() + d;
  if (until > blocked_until_) {
    blocked_until_ = until;
    blocked_reason_ = std::string(reason);
  }
}

int RequestBudget::RemainingThisMinute() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  while (!minute_.empty() && minute_.front() <= now - absl::Minutes(1)) minute_.pop_front();
  return std::max(0, limits_.per_minute - static_cast<int>(minute_.size()));
}

bool RequestBudget::BackingOff() const {
  absl::MutexLock lock(&mu_);
  return clock_->Now() < blocked_until_;
}

}  // namespace xctl
