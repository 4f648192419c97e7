#include "server/exchange/blofin/account_claims.h"

#include <openssl/sha.h>

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace xctl::blofin {
namespace {

struct Holder {
  std::string strategy_id;
  int count = 0;
};

absl::Mutex& Mu() {
  static absl::Mutex mu(absl::kConstInit);
  return mu;
}

absl::flat_hash_map<std::string, Holder>& Holders() ABSL_EXCLUSIVE_LOCKS_REQUIRED(Mu()) {
  static auto* holders = new absl::flat_hash_map<std::string, Holder>();
  return *holders;
}

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace

absl::StatusOr<AccountClaim> AccountClaim::Make(absl::string_view api_key,
                                                absl::string_view strategy_id) {
  std::string hash = Sha256Hex(api_key);
  std::string fingerprint = hash.substr(0, 12);
  absl::MutexLock lock(&Mu());
  Holder& holder = Holders()[hash];
  if (holder.count > 0 && holder.strategy_id != strategy_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "strategy ", strategy_id, ": its BloFin API key (fingerprint ", fingerprint,
        ") is already used by live strategy ", holder.strategy_id,
        "; a live strategy adopts every order and position of its account, so each needs a "
        "BloFin account of its own: create a sub-account on BloFin with its own API key "
        "(docs/exchanges.md, \"One BloFin account per live strategy\")"));
  }
  holder.strategy_id = std::string(strategy_id);
  ++holder.count;
  return AccountClaim(std::move(hash), std::move(fingerprint));
}

AccountClaim::AccountClaim(AccountClaim&& other) noexcept
    : key_hash_(std::exchange(other.key_hash_, "")),
      fingerprint_(std::move(other.fingerprint_)) {}

AccountClaim& AccountClaim::operator=(AccountClaim&& other) noexcept {
  if (this != &other) {
    Release();
    key_hash_ = std::exchange(other.key_hash_, "");
    fingerprint_ = std::move(other.fingerprint_);
  }
  return *this;
}

AccountClaim::~AccountClaim() { Release(); }

void AccountClaim::Release() {
  if (key_hash_.empty()) return;
  absl::MutexLock lock(&Mu());
  auto it = Holders().find(key_hash_);
  if (it != Holders().end() && --it->second.count <= 0) Holders().erase(it);
  key_hash_.clear();
}

}  // namespace xctl::blofin
