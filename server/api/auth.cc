#include "server/api/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/common/log.h"
#include "server/common/error_reason.h"

namespace xctl::api {
namespace {

// "ipv4:127.0.0.1:5000" -> "127.0.0.1", "ipv6:[::1]:5000" -> "[::1]"; other
// forms ("unix:...") as they are.
std::string PeerIp(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) return std::string(peer.substr(0, peer.rfind(':')));
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    const size_t close = peer.find(']');
    return std::string(close == absl::string_view::npos ? peer : peer.substr(0, close + 1));
  }
  return std::string(peer);
}

bool IsLoopbackIp(absl::string_view ip) {
  return absl::StartsWith(ip, "127.") || ip == "[::1]" || absl::StartsWith(ip, "unix:") ||
         absl::StartsWith(ip, "[::ffff:127.");
}

std::string Sha256(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace

std::string Sha256Hex(absl::string_view text) { return absl::BytesToHexString(Sha256(text)); }

AuthFailureLimiter::AuthFailureLimiter(const Clock* clock, int max_failures,
                                       absl::Duration window)
    : clock_(clock), max_failures_(max_failures), window_(window) {}

absl::Status AuthFailureLimiter::Check(absl::string_view address) const {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto it = failures_.find(address);
  if (it == failures_.end() || static_cast<int>(it->second.size()) < max_failures_) {
    return absl::OkStatus();
  }
  const absl::Time until = it->second.front() + window_;
  if (until <= now) return absl::OkStatus();
  const int64_t wait_s = (absl::ToInt64Milliseconds(until - now) + 999) / 1000;
  return WithReason(absl::ResourceExhaustedError(absl::StrCat(
                        "too many failed authentications from this address (", max_failures_,
                        " within ", absl::ToInt64Seconds(window_), " s): wait ", wait_s,
                        " s, then retry with the right token or signal secret")),
                    reason::kAuthRateLimited);
}

void AuthFailureLimiter::RecordFailure(absl::string_view address, absl::string_view what) {
  const absl::Time now = clock_->Now();
  bool blocked = false;
  {
    absl::MutexLock lock(&mu_);
    // Forget addresses whose failures are all past the window (bounded memory
    // under a spray of addresses).
    if (failures_.size() > 4096) {
      absl::erase_if(failures_, [&](const auto& entry) {
        return entry.second.empty() || entry.second.back() + window_ <= now;
      });
    }
    std::deque<absl::Time>& times = failures_[address];
    while (!times.empty() && times.front() + window_ <= now) times.pop_front();
    times.push_back(now);
    while (static_cast<int>(times.size()) > max_failures_) times.pop_front();
    blocked = static_cast<int>(times.size()) == max_failures_;
  }
  spdlog::warn("event=auth_failed caller={} credential={}{}", LogQuote(address), what,
               blocked ? " blocked=true" : "");
}

std::string CallerAddress(const grpc::ServerContextBase& ctx) {
  std::string ip = PeerIp(ctx.peer());
  if (!IsLoopbackIp(ip)) return ip;
  const auto& metadata = ctx.client_metadata();
  auto [begin, end] = metadata.equal_range("x-forwarded-for");
  if (begin == end) return ip;
  // The gateway appends the address it saw, as the last entry of its own
  // x-forwarded-for, after any a client passed (an X-Forwarded-For header,
  // or Grpc-Metadata-X-Forwarded-For): only that last entry is trusted.
  auto last_value = std::prev(end);
  absl::string_view all(last_value->second.data(), last_value->second.size());
  std::vector<absl::string_view> parts = absl::StrSplit(all, ',');
  absl::string_view last = absl::StripAsciiWhitespace(parts.back());
  if (last.empty()) return ip;
  return absl::StrCat("fwd:", last);
}

absl::StatusOr<Authorizer> Authorizer::Create(const AuthConfig& config, const Clock* clock) {
  Authorizer a;
  a.anonymous_read_ = config.anonymous_read;
  a.limiter_ = std::make_shared<AuthFailureLimiter>(clock);
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

absl::Status Authorizer::Check(const grpc::ServerContextBase& ctx, Access access,
                               absl::string_view strategy_id) const {
  if (!enabled()) return absl::OkStatus();
  const std::string caller = CallerAddress(ctx);
  if (limiter_) {
    if (absl::Status blocked = limiter_->Check(caller); !blocked.ok()) return blocked;
  }
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find("authorization");
  absl::string_view header;
  if (it != metadata.end()) header = absl::string_view(it->second.data(), it->second.size());
  absl::Status status = CheckHeader(header, access, strategy_id);
  if (status.code() == absl::StatusCode::kUnauthenticated && !header.empty() && limiter_) {
    limiter_->RecordFailure(caller, "token");
  }
  return status;
}

absl::Status Authorizer::CheckNotBlocked(const grpc::ServerContextBase& ctx) const {
  return limiter_ ? limiter_->Check(CallerAddress(ctx)) : absl::OkStatus();
}

void Authorizer::RecordFailure(const grpc::ServerContextBase& ctx, absl::string_view what) const {
  if (limiter_) limiter_->RecordFailure(CallerAddress(ctx), what);
}

}  // namespace xctl::api
