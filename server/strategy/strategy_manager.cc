#include "server/strategy/strategy_manager.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/strategy/credentials_cipher.h"
#include "server/strategy/strategy_validation.h"

namespace xctl {

StrategyManager::StrategyManager(Store* store, StrategyTrading* trading, PriceModule* prices,
                                 const StrategyRegistry* registry,
                                 const CredentialsCipher* cipher, const Clock* clock)
    : trading_(trading),
      records_(store, prices, registry, cipher, clock),
      runtime_(&records_, trading, prices, clock),
      owned_(&table_, &records_, &runtime_) {}

StrategyManager::~StrategyManager() { Shutdown(); }

void StrategyManager::Shutdown() { runtime_.Shutdown(table_.Snapshot()); }

void StrategyManager::DrainTrading() { runtime_.DrainTrading(); }

void StrategyManager::DeliverTicks(const std::vector<TickPtr>& ticks) {
  for (const auto& e : table_.Snapshot()) runtime_.DispatchTicks(*e, ticks);
}

int StrategyManager::RetryFailed() {
  return runtime_.RetryFailed(table_.Snapshot(), /*owned_only=*/owned_.enabled());
}

// ---- lookups ----------------------------------------------------------------

absl::StatusOr<StrategyView> StrategyManager::Get(absl::string_view id) const {
  StrategyEntryPtr e = table_.Find(id);
  if (!e) return StrategyNotFound(id);
  return ViewOf(*e);
}

std::vector<StrategyView> StrategyManager::List(const StrategyFilter& filter) const {
  std::vector<StrategyView> out;
  for (const auto& e : table_.Snapshot()) {
    StrategyView v = ViewOf(*e);
    if (!filter.type.empty() && v.type != filter.type) continue;
    if (filter.status && v.status != *filter.status) continue;
    if (filter.mode && v.mode != *filter.mode) continue;
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(),
            [](const StrategyView& a, const StrategyView& b) { return a.id < b.id; });
  return out;
}

// ---- start-up -------------------------------------------------------------

absl::Status StrategyManager::Start(const std::vector<StrategyConfig>& from_config) {
  {
    absl::MutexLock lock(&start_mu_);
    if (started_) return absl::FailedPreconditionError("the strategy manager is started already");
    started_ = true;
  }
  absl::StatusOr<std::map<std::string, StrategyRecord>> records =
      records_.LoadAndUpsert(from_config);
  if (!records.ok() && owned_.enabled()) {
    // Cluster mode: another instance starting with the same config may have
    // inserted the same strategies between our read and our write.
    records = records_.LoadAndUpsert(from_config);
  }
  if (!records.ok()) {
    absl::MutexLock lock(&start_mu_);
    started_ = false;  // nothing was brought up: Start may be called again
    return records.status();
  }
  BringUp(*records);
  return absl::OkStatus();
}

void StrategyManager::BringUp(const std::map<std::string, StrategyRecord>& records) {
  if (owned_.enabled()) {
    std::vector<StrategyRecord> known;
    for (const auto& [id, record] : records) known.push_back(record);
    owned_.AddKnown(known);
    return;
  }
  int running = 0, failed = 0;
  for (const auto& [id, record] : records) {
    auto e = std::make_shared<StrategyEntry>(record);
    absl::MutexLock op(&e->op_mu);
    table_.Put(id, e);
    bool reached_control = false;
    if (absl::Status s = runtime_.Apply(*e, record, record.running, &reached_control); !s.ok()) {
      runtime_.Fail(*e, s, /*retry=*/true);
      ++failed;
      // Its instance could not be made (type, params, unpriced pair): exchange
      // control still holds it, stopped, so its positions and KPIs show.
      if (!reached_control) runtime_.RegisterStopped(record);
      continue;
    }
    if (record.running) ++running;
  }
  spdlog::info("event=strategy_manager_started strategies={} running={} failed={}",
               records.size(), running, failed);
}

// ---- lifecycle -------------------------------------------------------------

absl::StatusOr<StrategyView> StrategyManager::Create(const NewStrategy& request) {
  XCTL_ASSIGN_OR_RETURN(StrategyRecord r, records_.NewRecord(request));
  XCTL_RETURN_IF_ERROR(records_.Insert(r, request, /*generated=*/request.spec.id.empty()));

  if (owned_.enabled()) return ViewOf(*owned_.AddCreated(r));
  auto e = std::make_shared<StrategyEntry>(r);
  absl::MutexLock op(&e->op_mu);
  table_.Put(r.id, e);
  absl::Status applied = runtime_.Apply(*e, r, r.running);
  if (!applied.ok()) runtime_.Fail(*e, applied, /*retry=*/false);
  spdlog::info("event=strategy_created id={} type={} mode={} pairs={} status={} source=api", r.id,
               r.type, ToString(ModeOf(r)), absl::StrJoin(r.pairs, ","),
               applied.ok() ? (r.running ? "running" : "stopped") : "failed");
  return ViewOf(*e);
}

absl::StatusOr<StrategyView> StrategyManager::Update(const StrategyUpdate& u) {
  XCTL_RETURN_IF_ERROR(CheckUpdateRequest(u, records_.has_cipher()));
  StrategyEntryPtr e = table_.Find(u.id);
  if (!e) return StrategyNotFound(u.id);
  absl::MutexLock op(&e->op_mu);
  XCTL_RETURN_IF_ERROR(owned_.Check(*e));
  StrategyRecord old;
  StrategyStatus old_status;
  std::string old_message;
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed) return StrategyNotFound(u.id);
    old = e->record;
    old_status = e->status;
    old_message = e->message;
  }
  XCTL_ASSIGN_OR_RETURN(StrategyRecord next, records_.Updated(old, u));

  // Puts exchange control and the entry back as they were.
  auto revert = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(e->op_mu) {
    if (absl::Status s = runtime_.Apply(*e, old, old_status == StrategyStatus::kRunning);
        !s.ok()) {
      runtime_.Fail(*e,
                    Prefixed(s, "could not restore the strategy after a failed update: "),
                    /*retry=*/false);
      return;
    }
    if (old_status == StrategyStatus::kFailed) {
      absl::MutexLock lock(&e->mu);
      e->status = old_status;
      e->message = old_message;
    }
  };

  const bool runtime_change = RuntimeFieldsDiffer(old, next);
  if (runtime_change) {
    // A strategy that should run is re-applied running (a FAILED one is
    // retried), with a fresh instance.
    if (absl::Status s = runtime_.Apply(*e, next, next.running); !s.ok()) {
      revert();
      return s;
    }
  }
  if (absl::Status s = records_.Save(next); !s.ok()) {
    if (runtime_change) revert();
    return s;
  }
  if (!runtime_change) {
    absl::MutexLock lock(&e->mu);
    e->record = next;
  }
  spdlog::info("event=strategy_updated id={} fields={} credentials={} signal_secret={} mode={}",
               next.id, absl::StrJoin(u.paths, ","),
               u.credentials ? "set" : (u.clear_credentials ? "cleared" : "unchanged"),
               !u.signal_secret.empty() ? "set"
                                        : (u.clear_signal_secret ? "cleared" : "unchanged"),
               ToString(ModeOf(next)));
  if (ModeOf(old) != ModeOf(next)) {
    spdlog::info("event=strategy_mode_changed id={} from={} to={}", next.id,
                 ToString(ModeOf(old)), ToString(ModeOf(next)));
  }
  return ViewOf(*e);
}

absl::Status StrategyManager::CheckNoExposure(absl::string_view id) {
  auto exposure = trading_->HasOpenExposure(id);
  if (absl::IsNotFound(exposure.status())) {
    // Exchange control never took the strategy (it FAILED): ask the store.
    exposure = records_.StoredExposure(id);
  }
  if (!exposure.ok()) return exposure.status();
  if (*exposure) {
    return absl::FailedPreconditionError(absl::StrCat(
        "strategy ", id,
        " has open positions or resting orders; close the positions and cancel the orders "
        "first (ExchangeControl.ClosePosition, CancelOrder)"));
  }
  return absl::OkStatus();
}

absl::Status StrategyManager::Delete(absl::string_view id) {
  StrategyEntryPtr e = table_.Find(id);
  if (!e) return StrategyNotFound(id);
  absl::MutexLock op(&e->op_mu);
  XCTL_RETURN_IF_ERROR(owned_.Check(*e));
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed) return StrategyNotFound(id);
    if (e->status == StrategyStatus::kRunning) {
      return absl::FailedPreconditionError(absl::StrCat(
          "strategy ", id, " is running; stop it first (StopStrategy), then delete it"));
    }
  }
  XCTL_RETURN_IF_ERROR(CheckNoExposure(id));
  XCTL_RETURN_IF_ERROR(records_.SoftDelete(id));
  runtime_.Remove(*e);
  table_.Erase(id);
  spdlog::info("event=strategy_deleted id={}", id);
  return absl::OkStatus();
}

absl::StatusOr<StrategyView> StrategyManager::StartStrategy(absl::string_view id) {
  StrategyEntryPtr e = table_.Find(id);
  if (!e) return StrategyNotFound(id);
  absl::MutexLock op(&e->op_mu);
  XCTL_RETURN_IF_ERROR(owned_.Check(*e));
  return runtime_.Start(*e);
}

absl::StatusOr<StrategyView> StrategyManager::StopStrategy(absl::string_view id) {
  StrategyEntryPtr e = table_.Find(id);
  if (!e) return StrategyNotFound(id);
  absl::MutexLock op(&e->op_mu);
  XCTL_RETURN_IF_ERROR(owned_.Check(*e));
  return runtime_.Stop(*e);
}

absl::StatusOr<OrderResult> StrategyManager::SubmitSignal(const SignalRequest& request) {
  if (request.strategy_id.empty()) return InvalidField("strategy_id", "is required");
  StrategyEntryPtr e = table_.Find(request.strategy_id);
  if (!e) return StrategyNotFound(request.strategy_id);
  XCTL_RETURN_IF_ERROR(owned_.Check(*e));
  return runtime_.SubmitSignal(*e, request);
}

absl::Status StrategyManager::CheckSignalSecret(const SignalRequest& request) const {
  StrategyEntryPtr e = table_.Find(request.strategy_id);
  if (!e) return StrategyNotFound(request.strategy_id);
  std::optional<std::string> secret_hash;
  {
    absl::MutexLock lock(&e->mu);
    secret_hash = e->record.signal_secret_hash;
  }
  if (secret_hash && !SignalSecretMatches(request.secret, *secret_hash)) {
    spdlog::warn("event=signal_rejected strategy={} reason=secret_mismatch", request.strategy_id);
    return absl::PermissionDeniedError("signal secret does not match");
  }
  return absl::OkStatus();
}

// ---- cluster mode: ownership ------------------------------------------------

void StrategyManager::SetOwnership(StrategyOwnership* ownership) { owned_.Set(ownership); }

absl::Status StrategyManager::TakeOwnership(absl::string_view id) { return owned_.Take(id); }

void StrategyManager::DropOwnership(absl::string_view id, absl::string_view reason) {
  owned_.Drop(id, reason);
}

absl::StatusOr<std::vector<std::string>> StrategyManager::RefreshFromStore() {
  return owned_.RefreshFromStore();
}

}  // namespace xctl
