#include "server/strategy/strategy_ownership.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/strategy/strategy_validation.h"

namespace xctl {

OwnedStrategies::OwnedStrategies(StrategyTable* table, StrategyRecords* records,
                                 StrategyRuntime* runtime)
    : table_(table), records_(records), runtime_(runtime) {}

absl::Status OwnedStrategies::Check(StrategyEntry& e) {
  if (ownership_ == nullptr) return absl::OkStatus();
  const std::string id = e.id();
  const bool owned = e.owned.load();
  // Owned: the lease may still have passed its local deadline (the loss is
  // being reported); not owned: the answer names the owner.
  absl::Status s = ownership_->CheckOwner(id);
  if (!s.ok() || owned) return s;
  return absl::UnavailableError(absl::StrCat(
      "strategy ", id, " is being taken over by this instance; retry in a moment"));
}

void OwnedStrategies::AddKnown(const std::vector<StrategyRecord>& records) {
  // Cluster mode: known here, run only once this instance takes the lease.
  for (const StrategyRecord& record : records) {
    table_->Put(record.id, std::make_shared<StrategyEntry>(record, kNotOwnedMessage));
  }
  spdlog::info("event=strategy_manager_started strategies={} cluster=true", records.size());
}

StrategyEntryPtr OwnedStrategies::AddCreated(const StrategyRecord& r) {
  // Cluster mode: it runs where its lease is taken (maybe here, soon).
  auto made = std::make_shared<StrategyEntry>(r, kNotOwnedMessage);
  StrategyEntryPtr e = table_->FindOrPut(r.id, [&] { return made; });
  ownership_->Nominate(r.id);
  spdlog::info("event=strategy_created id={} type={} mode={} pairs={} source=api cluster=true",
               r.id, r.type, ToString(ModeOf(r)), absl::StrJoin(r.pairs, ","));
  {
    // The creating instance usually takes it at once (Nominate wakes its
    // placement round): wait briefly so the answer shows it running here.
    // When another instance takes it, the view says where it runs.
    absl::MutexLock lock(&e->mu);
    auto owned = [&e]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(e->mu) {
      if (e->removed) return true;
      if (!e->owned.load()) return false;
      return !e->record.running || e->status != StrategyStatus::kStopped;
    };
    e->mu.AwaitWithTimeout(absl::Condition(&owned), absl::Seconds(1));
  }
  return e;
}

absl::Status OwnedStrategies::Take(absl::string_view id_view) {
  const std::string id(id_view);
  XCTL_ASSIGN_OR_RETURN(std::optional<StrategyRecord> record, records_->Read(id));
  if (!record) {
    // Deleted meanwhile: nothing to run; forget it.
    if (StrategyEntryPtr gone = table_->Find(id)) {
      absl::MutexLock op(&gone->op_mu);
      gone->subscription.reset();
      absl::MutexLock lock(&gone->mu);
      gone->removed = true;
    }
    table_->Erase(id);
    return absl::OkStatus();
  }
  StrategyEntryPtr e =
      table_->FindOrPut(id, [&] { return std::make_shared<StrategyEntry>(*record); });
  absl::MutexLock op(&e->op_mu);
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed) return absl::OkStatus();
    if (e->owned.load()) return absl::OkStatus();
    e->owned = true;  // first: RefreshFromStore no longer overwrites the record
  }
  bool reached_control = false;
  if (absl::Status s = runtime_->Apply(*e, *record, record->running, &reached_control); !s.ok()) {
    runtime_->Fail(*e, s, /*retry=*/false);
    if (!reached_control) runtime_->RegisterStopped(*record);  // its positions and KPIs show
  }
  spdlog::info("event=strategy_owned id={} running={}", id, record->running);
  return absl::OkStatus();
}

void OwnedStrategies::Drop(absl::string_view id_view, absl::string_view reason) {
  const std::string id(id_view);
  StrategyEntryPtr e = table_->Find(id);
  if (!e) return;
  absl::MutexLock op(&e->op_mu);
  if (!e->owned.load()) return;
  runtime_->Release(*e, kNotOwnedMessage);
  spdlog::info("event=strategy_not_owned id={} reason={}", id, reason);
}

absl::StatusOr<std::vector<std::string>> OwnedStrategies::RefreshFromStore() {
  XCTL_ASSIGN_OR_RETURN(std::vector<StrategyRecord> list, records_->ReadAll());
  std::vector<std::string> ids;
  absl::flat_hash_set<std::string> stored;
  for (StrategyRecord& r : list) {
    ids.push_back(r.id);
    stored.insert(r.id);
    bool fresh = false;
    StrategyEntryPtr e = table_->FindOrPut(
        r.id, [&] { return std::make_shared<StrategyEntry>(r, kNotOwnedMessage); }, &fresh);
    if (fresh) continue;
    absl::MutexLock entry_lock(&e->mu);
    if (!e->owned.load() && !e->removed) e->record = std::move(r);
  }
  // Deleted by their owner elsewhere: forget them here.
  table_->EraseUnownedExcept(stored);
  return ids;
}

}  // namespace xctl
