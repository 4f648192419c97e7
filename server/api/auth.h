// Authorizer: who may call which RPC. Clients send `authorization: Bearer
// <token>` metadata (the gateway forwards the HTTP header). Tokens are
// configured by their SHA-256 (or an environment variable holding them) with
// a scope:
//   admin            everything
//   strategy:<id>    trade and read that strategy only (and market data)
// Reads may be opened to callers without a token (`anonymous_read`). With no
// tokens configured there are no checks; xctld then refuses to listen on
// anything but loopback (server_app.cc). Tokens are compared by their
// SHA-256 in constant time and never logged.
//
// Guessing is rate limited per caller address (AuthFailureLimiter): after
// kMaxAuthFailures failures (an unknown or malformed token, a wrong signal
// secret) within kAuthFailureWindow, every call from that address is
// RESOURCE_EXHAUSTED until the oldest of those failures is older than the
// window, whatever it carries. Behind the gateway the caller is the
// gateway on loopback, so the address is the last X-Forwarded-For entry it
// added (docs/security.md).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/config/config.h"

namespace xctl::api {

inline constexpr int kMaxAuthFailures = 10;
inline constexpr absl::Duration kAuthFailureWindow = absl::Seconds(60);

// Failures per caller address in a sliding window. Thread-safe.
class AuthFailureLimiter {
 public:
  explicit AuthFailureLimiter(const Clock* clock, int max_failures = kMaxAuthFailures,
                              absl::Duration window = kAuthFailureWindow);
  // OK, or RESOURCE_EXHAUSTED saying how long to wait, while `address` has
  // max_failures failures within the window.
  [[nodiscard]] absl::Status Check(absl::string_view address) const;
  // One more failure of `address` (`what`: "token", "signal secret", logged).
  void RecordFailure(absl::string_view address, absl::string_view what);

 private:
  const Clock* clock_;
  const int max_failures_;
  const absl::Duration window_;
  mutable absl::Mutex mu_;
  // Times of the last failures (at most max_failures_), oldest first.
  absl::flat_hash_map<std::string, std::deque<absl::Time>> failures_ ABSL_GUARDED_BY(mu_);
};

// The address a call comes from, for the limiter: the peer's IP without its
// port ("127.0.0.1", "[::1]"); from a loopback peer (the gateway) that sent
// x-forwarded-for, the last entry of it ("fwd:203.0.113.7").
std::string CallerAddress(const grpc::ServerContextBase& ctx);

class Authorizer {
 public:
  enum class Access {
    kRead,   // lists, balances, KPIs, streams
    kTrade,  // orders, cancels, closes, signals, reconciliation
    kAdmin,  // strategy changes
  };
  // The strategy argument of Check for calls about no strategy in particular
  // (prices, instruments): any valid token may make them.
  static constexpr absl::string_view kMarketData = "*";

  // Hashes the tokens read from the environment. INVALID_ARGUMENT naming the
  // token whose variable is unset or empty. `clock` times the failure limit.
  [[nodiscard]] static absl::StatusOr<Authorizer> Create(const AuthConfig& config,
                                                         const Clock* clock = &SystemClock());

  bool enabled() const { return !tokens_.empty(); }

  // OK, or UNAUTHENTICATED (no or unknown token) / PERMISSION_DENIED (the
  // token's scope does not cover `strategy_id`; "" means every strategy).
  [[nodiscard]] absl::Status Check(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, Access access,
      absl::string_view strategy_id) const;

  // The same from a bare "Bearer ..." value ("" when absent).
  [[nodiscard]] absl::Status CheckHeader(absl::string_view authorization, Access access,
                                         absl::string_view strategy_id) const;

  // Check for a call, with the failure limit: RESOURCE_EXHAUSTED while the
  // caller's address is blocked (before the token is looked at); an unknown
  // or malformed token counts as a failure (a missing one does not).
  [[nodiscard]] absl::Status Check(const grpc::ServerContextBase& ctx, Access access,
                                   absl::string_view strategy_id) const;

  // For secrets checked elsewhere (a signal's secret, checked by the
  // strategy manager): RESOURCE_EXHAUSTED while the caller is blocked, and
  // the record of a failure. Work with tokens or without.
  [[nodiscard]] absl::Status CheckNotBlocked(const grpc::ServerContextBase& ctx) const;
  void RecordFailure(const grpc::ServerContextBase& ctx, absl::string_view what) const;

 private:
  struct Token {
    std::string name;
    std::string sha256;  // 32 raw bytes
    std::string strategy_id;  // empty: admin
  };
  std::vector<Token> tokens_;
  bool anonymous_read_ = false;
  // Shared by the copies of this Authorizer.
  std::shared_ptr<AuthFailureLimiter> limiter_;
};

// SHA-256 of `text` as 64 lowercase hex digits (for writing configs).
std::string Sha256Hex(absl::string_view text);

}  // namespace xctl::api
