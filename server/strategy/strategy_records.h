// StrategyRecords: the strategies' rows and what it takes to write them. It
// turns requests (Create, Update, the config at start) into checked
// StrategyRecords, encrypts credentials (CredentialsCipher) and hashes
// signal secrets, reads and writes the `strategies` table, builds instances
// through the StrategyRegistry (to check a type and its params, and for the
// runtime), and the StrategyInfo exchange control gets (credentials
// decrypted). It shows strategies as StrategyView (no secrets).
//
// It runs nothing and holds no lock: every method is a pure function of its
// arguments and the store, safe from any thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/clock.h"
#include "server/config/config.h"
#include "server/control/strategy_info.h"
#include "server/price/price_module.h"
#include "server/store/store.h"
#include "server/strategy/credentials_cipher.h"
#include "server/strategy/registry.h"
#include "server/strategy/strategy.h"
#include "server/strategy/strategy_entry.h"
#include "server/strategy/strategy_view.h"

namespace xctl {

// The view of an entry (its record and runtime status; takes entry.mu).
StrategyView ViewOf(const StrategyEntry& entry);

class StrategyRecords {
 public:
  // `prices` may be null (no pair check); `cipher` may be null (credentials
  // are then refused). Everything given must outlive this object.
  StrategyRecords(Store* store, PriceModule* prices, const StrategyRegistry* registry,
                  const CredentialsCipher* cipher, const Clock* clock);

  const Clock& clock() const { return *clock_; }
  bool has_cipher() const { return cipher_ != nullptr; }

  // Create, before anything is stored: the checked record of `request`
  // (generated id when none is given, defaults filled in, secret hashed;
  // credentials are encrypted by Insert, under the final id).
  absl::StatusOr<StrategyRecord> NewRecord(const NewStrategy& request) const;
  // Stores `record` (credentials of `request` encrypted); a generated id
  // (`generated`) that is taken is drawn again. ALREADY_EXISTS when a given
  // id is taken.
  absl::Status Insert(StrategyRecord& record, const NewStrategy& request, bool generated);
  // Update: `old` with the fields and credential / secret changes of `update`
  // applied, checked (CheckUpdateRequest ran before), updated_at now.
  absl::StatusOr<StrategyRecord> Updated(const StrategyRecord& old,
                                         const StrategyUpdate& update) const;

  // Start, part 1: reads the stored strategies and writes the config ones
  // (all checked first, written in one transaction); every stored record by id.
  absl::StatusOr<std::map<std::string, StrategyRecord>> LoadAndUpsert(
      const std::vector<StrategyConfig>& from_config);

  // Writes the record (its row exists).
  absl::Status Save(const StrategyRecord& record);
  // Soft-deletes the row now.
  absl::Status SoftDelete(absl::string_view id);
  // The stored record; nullopt when it is unknown or deleted.
  absl::StatusOr<std::optional<StrategyRecord>> Read(absl::string_view id);
  // Every stored, undeleted record.
  absl::StatusOr<std::vector<StrategyRecord>> ReadAll();
  // Whether the store holds open positions or resting orders of `id`.
  absl::StatusOr<bool> StoredExposure(absl::string_view id);
  // Whether the strategy has an order with this client order id.
  absl::StatusOr<bool> OrderExists(absl::string_view id, absl::string_view client_order_id);

  // The StrategyInfo for `record` (credentials decrypted).
  absl::StatusOr<StrategyInfo> InfoFor(const StrategyRecord& record, bool running) const;
  // Builds and checks an instance for `record` without side effects.
  absl::StatusOr<std::unique_ptr<Strategy>> BuildInstance(const StrategyRecord& record) const;
  // A price-driven strategy on a pair the price module does not poll would
  // never receive a tick: INVALID_ARGUMENT naming the pair.
  absl::Status CheckPriced(const Strategy& strategy, const std::vector<std::string>& pairs) const;

 private:
  absl::StatusOr<StrategyRecord> RecordFromConfig(const StrategyConfig& config,
                                                  const StrategyRecord* stored) const;

  Store* const store_;
  PriceModule* const prices_;
  const StrategyRegistry* const registry_;
  const CredentialsCipher* const cipher_;
  const Clock* const clock_;
};

}  // namespace xctl
