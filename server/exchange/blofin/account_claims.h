// AccountClaim: one live strategy per BloFin account in this process.
//
// A BlofinExchange adopts everything its account holds (Reconcile: every
// pending order, every position of its margin mode), so two live strategies
// on one API key would mix their positions and KPIs. Each BlofinExchange
// therefore claims its API key for its strategy; a second strategy with the
// same key is refused with a message naming the holder. BloFin documents no
// endpoint that returns an account id for an API key (index.md, "Account":
// "Get Account Config" returns only accountLevel), so the claim is by key;
// two different keys of the same BloFin account cannot be told apart here,
// which docs/exchanges.md ("One BloFin account per live strategy") says.
// Run several live strategies on BloFin sub-accounts, one key each.
//
// The key is held as its SHA-256 fingerprint, never in plain text. The same
// strategy may hold several claims on its key at once (an exchange being
// rebuilt, or the previous live exchange kept while its positions close).
// Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xctl::blofin {

class AccountClaim {
 public:
  // Claims `api_key` for `strategy_id`; FAILED_PRECONDITION when another
  // strategy holds it.
  [[nodiscard]] static absl::StatusOr<AccountClaim> Make(absl::string_view api_key,
                                                        absl::string_view strategy_id);
  AccountClaim(AccountClaim&& other) noexcept;
  AccountClaim& operator=(AccountClaim&& other) noexcept;
  AccountClaim(const AccountClaim&) = delete;
  AccountClaim& operator=(const AccountClaim&) = delete;
  ~AccountClaim();

  // The first 12 hex digits of the key's SHA-256, safe to log.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  AccountClaim(std::string key_hash, std::string fingerprint)
      : key_hash_(std::move(key_hash)), fingerprint_(std::move(fingerprint)) {}
  void Release();

  std::string key_hash_;  // empty once moved from
  std::string fingerprint_;
};

}  // namespace xctl::blofin
