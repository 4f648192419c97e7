// RequestBudget: the request allowance xctl keeps toward one REST host, shared
// by every caller in the process that talks to that host (BloFin's price
// source and every live strategy's client), so together they stay inside the
// host's limits and all of them stop when the host asks to back off.
//
// BloFin documents (index.md, "Rate Limits" > "REST API Limits"): at most 500
// requests a minute per IP (then a 5-minute suspension), and 30 trading
// requests every 10 s per user. index.md, "Risk Control Restrictions": an
// HTTP 403 is a firewall ban of about five minutes. The budget therefore has
//  - one sliding one-minute window for the whole host (every request),
//  - one sliding window per account for trading requests,
//  - one back-off deadline for the host, set after a 429 or 403, that refuses
//    every request of every caller until it passes.
// A request that does not fit is refused at once (RESOURCE_EXHAUSTED saying
// when the next slot frees); nothing waits, so a caller never holds its locks
// while time passes. Time comes from the injected Clock. Thread-safe.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"

namespace xctl {

struct RequestLimits {
  // Requests per minute to the host from this process, every kind together.
  // BloFin's limit is 500; the default keeps a reserve for retries and for
  // other programs on the same IP.
  int per_minute = 400;
  // Trading requests (orders, cancels) per account and window.
  int trade_per_window = 30;
  absl::Duration trade_window = absl::Seconds(10);
  bool operator==(const RequestLimits&) const = default;
};

class RequestBudget {
 public:
  // What kind of request asks for a slot.
  enum class Kind {
    kPublic,   // market data, no account
    kPrivate,  // signed reads (orders, positions, balance)
    kTrade,    // orders and cancels: also count against the account's window
    kSync,     // background refreshes: refused while less than a quarter of the
               // host's minute is left, so they never starve orders
  };

  RequestBudget(std::string host, RequestLimits limits, const Clock* clock);

  // The budget of `base_url`'s host (scheme and host:port, path ignored),
  // created with `limits` and `clock` the first time and shared afterwards
  // (later callers' limits are not applied: xctld gives all of them the
  // same, and has one clock). The process keeps every budget for its
  // lifetime. Tests that need a budget of their own construct one.
  static std::shared_ptr<RequestBudget> ForHost(absl::string_view base_url,
                                                const RequestLimits& limits, const Clock* clock);

  // Takes a slot for one request of `kind` for `account` (empty for public
  // requests). kTrade requests, and any request with `trade_window` set,
  // count against the account's trading window too. RESOURCE_EXHAUSTED,
  // naming the limit and when to retry, when the request would exceed a
  // limit or the host asked to back off.
  [[nodiscard]] absl::Status Acquire(Kind kind, absl::string_view account = "",
                                     bool trade_window = false);

  // After HTTP 429 or 403: no request of any caller is sent before `d` has
  // passed. `reason` ("HTTP 403") goes into the refusals' messages.
  void BackOff(absl::Duration d, absl::string_view reason);

  // Every budget ForHost made, by host (metrics).
  static std::vector<std::shared_ptr<RequestBudget>> Shared();

  // Requests that Acquire let through (`sent`) and refused, by Kind.
  struct Counts {
    uint64_t sent[4] = {};
    uint64_t refused[4] = {};
  };
  Counts counts() const;
  // "public", "private", "trade", "sync".
  static absl::string_view KindName(Kind kind);

  // Requests left in the current minute (for benchmarks and metrics).
  int RemainingThisMinute() const;
  // True while a back-off is in force.
  bool BackingOff() const;

  const std::string& host() const { return host_; }
  const RequestLimits& limits() const { return limits_; }

 private:
  void ExpireLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AcquireLocked(Kind kind, absl::string_view account, bool trade_window)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string host_;
  const RequestLimits limits_;
  const Clock* clock_;
  mutable absl::Mutex mu_;
  mutable std::deque<absl::Time> minute_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::deque<absl::Time>> trades_ ABSL_GUARDED_BY(mu_);
  absl::Time blocked_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string blocked_reason_ ABSL_GUARDED_BY(mu_);
  Counts counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl
