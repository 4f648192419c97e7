#include "server/api/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace xctl::api {
namespace {

std::string Sha256(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace

std::string Sha256Hex(absl::string_view text) { return absl::BytesToHexString(Sha256(text)); }

absl::StatusOr<Authorizer> Authorizer::Create(const AuthConfig& config) {
  Authorizer a;
  a.anonymous_read_ = config.anonymous_read;
  for (const TokenConfig& t : config.tokens) {
    Token token{.name = t.name};
    if (!t.env.empty()) {
      const char* value = std::getenv(t.env.c_str());
      if (!value || !*value) {
        return absl::InvalidArgumentError(absl::StrCat(
            "auth.tokens.", t.name, ": environment variable ", t.env, " is not set"));
      }
      token.sha256 = Sha256(value);
    } else {
      token.sha256 = absl::HexStringToBytes(t.sha256);
    }
    if (absl::StartsWith(t.scope, "strategy:")) token.strategy_id = t.scope.substr(9);
    a.tokens_.push_back(std::move(token));
  }
  return a;
}

absl::Status Authorizer::Check(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                               Access access, absl::string_view strategy_id) const {
  if (!enabled()) return absl::OkStatus();
  auto it = metadata.find("authorization");
  absl::string_view header;
  if (it != metadata.end()) header = absl::string_view(it->second.data(), it->second.size());
  return CheckHeader(header, access, strategy_id);
}

absl::Status Authorizer::CheckHeader(absl::string_view header, Access access,
                                     absl::string_view strategy_id) const {
  if (!enabled()) return absl::OkStatus();
  if (header.empty()) {
    if (access == Access::kRead && anonymous_read_) return absl::OkStatus();
    return absl::UnauthenticatedError(
        "this call needs a token: send the metadata \"authorization: Bearer <token>\"");
  }
  if (!absl::ConsumePrefix(&header, "Bearer ")) {
    return absl::UnauthenticatedError("authorization must be \"Bearer <token>\"");
  }
  // Compare with every token, in constant time, so timing tells nothing.
  const std::string digest = Sha256(header);
  const Token* match = nullptr;
  for (const Token& t : tokens_) {
    if (CRYPTO_memcmp(digest.data(), t.sha256.data(), digest.size()) == 0) match = &t;
  }
  if (!match) return absl::UnauthenticatedError("unknown token");
  if (match->strategy_id.empty()) return absl::OkStatus();  // admin
  if (access == Access::kAdmin) {
    return absl::PermissionDeniedError(absl::StrCat(
        "token ", match->name, " may use strategy ", match->strategy_id,
        " only; changing strategies needs an admin token"));
  }
  if (strategy_id == kMarketData || strategy_id == match->strategy_id) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "token ", match->name, " may use strategy ", match->strategy_id, " only",
      strategy_id.empty() ? " (give strategy_id)" : ""));
}

}  // namespace xctl::api
