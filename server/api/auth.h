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
#pragma once

#include <map>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/config/config.h"

namespace xctl::api {

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
  // token whose variable is unset or empty.
  [[nodiscard]] static absl::StatusOr<Authorizer> Create(const AuthConfig& config);

  bool enabled() const { return !tokens_.empty(); }

  // OK, or UNAUTHENTICATED (no or unknown token) / PERMISSION_DENIED (the
  // token's scope does not cover `strategy_id`; "" means every strategy).
  [[nodiscard]] absl::Status Check(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, Access access,
      absl::string_view strategy_id) const;

  // The same from a bare "Bearer ..." value ("" when absent).
  [[nodiscard]] absl::Status CheckHeader(absl::string_view authorization, Access access,
                                         absl::string_view strategy_id) const;

 private:
  struct Token {
    std::string name;
    std::string sha256;  // 32 raw bytes
    std::string strategy_id;  // empty: admin
  };
  std::vector<Token> tokens_;
  bool anonymous_read_ = false;
};

// SHA-256 of `text` as 64 lowercase hex digits (for writing configs).
std::string Sha256Hex(absl::string_view text);

}  // namespace xctl::api
