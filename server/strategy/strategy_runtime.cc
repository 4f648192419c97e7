#include "server/strategy/strategy_runtime.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/strategy/strategy_validation.h"

namespace xctl {
namespace {

// Back-off of RetryFailed: 1 s, 2 s, 4 s, ... at most 5 minutes.
constexpr absl::Duration kFirstRetryDelay = absl::Seconds(1);
constexpr absl::Duration kMaxRetryDelay = absl::Minutes(5);

}  // namespace

StrategyRuntime::StrategyRuntime(StrategyRecords* records, StrategyTrading* trading,
                                 PriceModule* prices, const Clock* clock)
    : records_(records), trading_(trading), prices_(prices), clock_(clock) {
  if (prices_ != nullptr) {
    fanout_ = std::make_unique<PriceFanout>(
        prices_, [this](StrategyEntry& e, const std::vector<TickPtr>& ticks) {
          DispatchTicks(e, ticks);
        });
  }
}

void StrategyRuntime::RemoveFromControl(const std::string& id) {
  if (absl::Status s = trading_->RemoveStrategy(id); !s.ok() && !absl::IsNotFound(s)) {
    spdlog::warn("event=strategy_remove_not_confirmed id={} error={}", id, LogQuote(s.message()));
  }
}

void StrategyRuntime::Shutdown(const std::vector<StrategyEntryPtr>& entries) {
  for (const auto& entry : entries) {
    absl::MutexLock op(&entry->op_mu);
    entry->subscription.reset();
  }
  lanes_.DrainAll();
}

// ---- applying ---------------------------------------------------------------

// Requires e.op_mu.
absl::Status StrategyRuntime::Apply(StrategyEntry& e, const StrategyRecord& record, bool run,
                                    bool* reached_control) {
  e.op_mu.AssertHeld();
  if (reached_control) *reached_control = false;
  XCTL_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> instance, records_->BuildInstance(record));
  if (run) XCTL_RETURN_IF_ERROR(records_->CheckPriced(*instance, record.pairs));
  XCTL_ASSIGN_OR_RETURN(StrategyInfo info, records_->InfoFor(record, run));
  if (reached_control) *reached_control = true;
  if (absl::Status s = trading_->UpsertStrategy(info); !s.ok()) {
    return Prefixed(s, "exchange control refused the strategy: ");
  }
  if (absl::Status s = trading_->SetRunning(record.id, run); !s.ok()) {
    return Prefixed(s, "exchange control did not set the running status: ");
  }
  const bool price_driven = instance->price_driven();
  const bool signal_driven = instance->signal_driven();
  std::unique_ptr<TickFeed> old = std::move(e.subscription);
  {
    absl::MutexLock run_lock(&e.run_mu);
    e.strategy = std::move(instance);
    absl::MutexLock lock(&e.mu);
    e.record = record;
    e.status = run ? StrategyStatus::kRunning : StrategyStatus::kStopped;
    e.message.clear();
    e.retry_at = absl::InfiniteFuture();
    e.retry_delay = absl::ZeroDuration();
    e.price_driven = price_driven;
    e.signal_driven = signal_driven;
  }
  old.reset();
  if (run && price_driven && fanout_ != nullptr) {
    e.subscription = fanout_->Join(e.shared_from_this(), record.id, record.pairs);
  }
  return absl::OkStatus();
}

void StrategyRuntime::MarkFailed(StrategyEntry& e, absl::string_view reason) {
  std::string id;
  {
    absl::MutexLock lock(&e.mu);
    e.status = StrategyStatus::kFailed;
    e.message = std::string(reason);
    e.retry_at = absl::InfiniteFuture();
    e.retry_delay = absl::ZeroDuration();
    id = e.record.id;
  }
  spdlog::error("event=strategy_failed id={} reason={}", id, LogQuote(reason));
  // Exchange control refuses its trades from now on (it may not know it).
  if (absl::Status s = trading_->SetRunning(id, false); !s.ok() && !absl::IsNotFound(s)) {
    spdlog::warn("event=strategy_stop_not_confirmed id={} error={}", id, LogQuote(s.message()));
  }
}

void StrategyRuntime::MarkFailedOrRetry(StrategyEntry& e, const absl::Status& cause) {
  const bool passing = cause.code() == absl::StatusCode::kUnavailable ||
                       cause.code() == absl::StatusCode::kResourceExhausted;
  if (!passing) return MarkFailed(e, cause.message());
  absl::Duration delay;
  {
    absl::MutexLock lock(&e.mu);
    delay = std::clamp(e.retry_delay * 2, kFirstRetryDelay, kMaxRetryDelay);
  }
  MarkFailed(e, absl::StrCat(cause.message(), " (tried again in ", absl::FormatDuration(delay),
                             ")"));
  absl::MutexLock lock(&e.mu);
  e.retry_delay = delay;
  e.retry_at = clock_->Now() + delay;
}

// Requires e.op_mu.
void StrategyRuntime::Fail(StrategyEntry& e, const absl::Status& cause, bool retry) {
  e.op_mu.AssertHeld();
  if (retry) {
    MarkFailedOrRetry(e, cause);
  } else {
    MarkFailed(e, cause.message());
  }
  e.subscription.reset();
}

void StrategyRuntime::RegisterStopped(const StrategyRecord& record) {
  auto info = records_->InfoFor(record, false);
  if (!info.ok()) return;
  absl::Status registered = trading_->UpsertStrategy(*info);
  if (!registered.ok()) {
    spdlog::warn("event=strategy_not_registered id={} error={}", record.id,
                 LogQuote(registered.message()));
  }
}

// ---- start and stop ---------------------------------------------------------

// Requires e.op_mu.
absl::StatusOr<StrategyView> StrategyRuntime::Start(StrategyEntry& e) {
  e.op_mu.AssertHeld();
  StrategyRecord old;
  bool running = false;
  {
    absl::MutexLock lock(&e.mu);
    if (e.removed) {
      return StrategyNotFound(e.record.id);
    }
    running = e.status == StrategyStatus::kRunning;
    old = e.record;
  }
  if (running) return ViewOf(e);
  StrategyRecord next = old;
  next.running = true;
  if (!old.running) next.updated_at_ms = clock_->NowMillis();
  if (absl::Status s = Apply(e, next, true); !s.ok()) {
    Fail(e, s, /*retry=*/true);
    return s;
  }
  if (!old.running) {
    if (absl::Status s = records_->Save(next); !s.ok()) {
      // Not stored as running: do not leave it running.
      if (absl::Status back = Apply(e, old, false); !back.ok()) Fail(e, back, /*retry=*/false);
      return s;
    }
  }
  spdlog::info("event=strategy_started id={} type={} mode={}", next.id, next.type,
               ToString(ModeOf(next)));
  return ViewOf(e);
}

// Requires e.op_mu.
absl::StatusOr<StrategyView> StrategyRuntime::Stop(StrategyEntry& e) {
  e.op_mu.AssertHeld();
  StrategyRecord next;
  {
    absl::MutexLock lock(&e.mu);
    if (e.removed) return StrategyNotFound(e.record.id);
    next = e.record;
  }
  const std::string id = next.id;
  if (next.running) {
    next.running = false;
    next.updated_at_ms = clock_->NowMillis();
    XCTL_RETURN_IF_ERROR(records_->Save(next));
  }
  {
    // Waits for a tick or signal in progress: none follows once this returns.
    absl::MutexLock run(&e.run_mu);
    absl::MutexLock lock(&e.mu);
    e.record = next;
    e.status = StrategyStatus::kStopped;
    e.message.clear();
  }
  e.subscription.reset();
  lanes_.Drain(id);  // orders it decided before the stop are done (or refused)
  spdlog::info("event=strategy_stopped id={}", id);
  if (absl::Status s = trading_->SetRunning(id, false); !s.ok() && !absl::IsNotFound(s)) {
    return Prefixed(s, absl::StrCat("strategy ", id,
                                    " is stopped here but exchange control did not confirm: "));
  }
  return ViewOf(e);
}

// Requires e.op_mu.
void StrategyRuntime::Release(StrategyEntry& e, absl::string_view message) {
  const std::string id = Unload(e, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
    e.owned = false;
    e.status = StrategyStatus::kStopped;
    e.message = std::string(message);
  });
  lanes_.Drain(id);  // queued trades are done, or refused by the trade gate
  RemoveFromControl(id);
}

// Requires e.op_mu.
void StrategyRuntime::Remove(StrategyEntry& e) {
  RemoveFromControl(Unload(e, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) { e.removed = true; }));
}

// Requires e.op_mu.
std::string StrategyRuntime::Unload(StrategyEntry& e, absl::FunctionRef<void()> mark) {
  e.op_mu.AssertHeld();
  e.subscription.reset();
  // Waits for a tick or signal in progress: none follows once this returns.
  absl::MutexLock run(&e.run_mu);
  e.strategy.reset();
  absl::MutexLock lock(&e.mu);
  mark();
  return e.record.id;
}

int StrategyRuntime::RetryFailed(const std::vector<StrategyEntryPtr>& entries, bool owned_only) {
  int tried = 0;
  const absl::Time now = clock_->Now();
  for (const auto& e : entries) {
    auto due = [&]() {
      absl::MutexLock lock(&e->mu);
      return e->status == StrategyStatus::kFailed && !e->removed && e->record.running &&
             e->retry_at <= now && (!owned_only || e->owned.load());
    };
    if (!due()) continue;
    absl::MutexLock op(&e->op_mu);
    if (!due()) continue;  // changed while op_mu was awaited
    ++tried;
    auto started = Start(*e);
    spdlog::info("event=strategy_retry id={} ok={} error={}", e->id(), started.ok(),
                 LogQuote(started.ok() ? "" : started.status().message()));
  }
  return tried;
}

// ---- ticks ---------------------------------------------------------------

void StrategyRuntime::DispatchTicks(StrategyEntry& e, const std::vector<TickPtr>& ticks) {
  absl::MutexLock run(&e.run_mu);
  std::string id;
  std::vector<TickPtr> mine;
  {
    absl::MutexLock lock(&e.mu);
    if (e.removed || e.status != StrategyStatus::kRunning || !e.price_driven) return;
    id = e.record.id;
    for (const TickPtr& t : ticks) {
      if (std::find(e.record.pairs.begin(), e.record.pairs.end(), t->pair) !=
          e.record.pairs.end()) {
        mine.push_back(t);
      }
    }
  }
  if (mine.empty() || !e.strategy) return;
  StrategyContext context(id, trading_, &lanes_);
  for (const TickPtr& t : mine) {
    if (t->published_steady_us > 0) {
      const int64_t now = SteadyMicros();
      const int64_t latency_us = now - t->published_steady_us;
      tick_latency_.Record(latency_us, now);
      telemetry_->TickToStrategy(absl::Microseconds(latency_us));
    }
    std::optional<std::string> error;
    try {
      e.strategy->OnTick(*t, context);
    } catch (const std::exception& ex) {
      error = ex.what();
    } catch (...) {
      error = "unknown exception";
    }
    if (error) {
      MarkFailed(e, absl::StrCat("OnTick threw on ", t->pair, ": ", *error,
                                 "; fix the strategy or its params, then StartStrategy"));
      return;
    }
  }
}

// ---- signals ---------------------------------------------------------------

absl::StatusOr<OrderResult> StrategyRuntime::SubmitSignal(StrategyEntry& entry,
                                                           const SignalRequest& request) {
  StrategyEntry* e = &entry;
  const std::string& id = request.strategy_id;
  std::optional<std::string> secret_hash;
  StrategyStatus status;
  bool signal_driven;
  std::string type;
  std::vector<std::string> pairs;
  {
    absl::MutexLock lock(&e->mu);
    secret_hash = e->record.signal_secret_hash;
    status = e->status;
    signal_driven = e->signal_driven;
    type = e->record.type;
    pairs = e->record.pairs;
  }
  if (secret_hash && !SignalSecretMatches(request.secret, *secret_hash)) {
    spdlog::warn("event=signal_rejected strategy={} reason=secret_mismatch", id);
    return absl::PermissionDeniedError("signal secret does not match");
  }
  if (status != StrategyStatus::kRunning) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "strategy ", id, " is ", ToString(status),
                          "; start it (StartStrategy) to take signals")),
                      reason::kStrategyNotRunning);
  }
  if (!signal_driven) {
    return absl::FailedPreconditionError(absl::StrCat(
        "strategy type ", type, " takes no signals; signals go to tradingview strategies"));
  }
  XCTL_ASSIGN_OR_RETURN(Signal signal, ParseSignal(request));
  if (std::find(pairs.begin(), pairs.end(), signal.symbol) == pairs.end()) {
    return InvalidField("symbol", absl::StrCat(signal.symbol, " is not one of strategy ", id,
                                          "'s pairs (", absl::StrJoin(pairs, ", "), ")"));
  }
  if (signal.client_order_id.empty()) {
    // A replayed alert (the same body again) must not trade again: derive the
    // id from its content and the minute. The previous minute's id, when it
    // was used, is taken instead, so a replay just after a minute boundary is
    // caught as well (a window of 1-2 minutes).
    const int64_t minute = clock_->NowMillis() / kSignalReplayWindowMs;
    signal.client_order_id = DerivedSignalOrderId(id, signal, minute);
    const std::string previous = DerivedSignalOrderId(id, signal, minute - 1);
    XCTL_ASSIGN_OR_RETURN(bool seen, records_->OrderExists(id, previous));
    if (seen) signal.client_order_id = previous;
  }
  spdlog::info(
      "event=signal_received strategy={} action={} symbol={} quantity={} price={} "
      "client_order_id={} comment={}",
      id, ToString(signal.action), signal.symbol,
      signal.quantity ? signal.quantity->ToString() : "all",
      signal.price ? signal.price->ToString() : "market", LogQuote(signal.client_order_id),
      LogQuote(signal.comment));

  absl::MutexLock run(&e->run_mu);
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed || e->status != StrategyStatus::kRunning || !e->strategy) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            "strategy ", id, " stopped before the signal could be handled")),
                        reason::kStrategyNotRunning);
    }
  }
  StrategyContext context(id, trading_);
  std::optional<std::string> error;
  absl::StatusOr<OrderResult> result = absl::InternalError("not run");
  try {
    result = e->strategy->OnSignal(signal, context);
  } catch (const std::exception& ex) {
    error = ex.what();
  } catch (...) {
    error = "unknown exception";
  }
  if (error) {
    MarkFailed(*e, absl::StrCat("OnSignal threw: ", *error));
    return absl::InternalError(absl::StrCat("strategy ", id, " failed on the signal: ", *error));
  }
  if (!result.ok()) {
    spdlog::warn("event=signal_failed strategy={} action={} symbol={} error={}", id,
                 ToString(signal.action), signal.symbol, LogQuote(result.status().message()));
    return result;
  }
  spdlog::info("event=signal_traded strategy={} order_id={} status={} fills={} replayed={}", id,
               result->order.id, ToString(result->order.status), result->fills.size(),
               result->replayed);
  return result;
}

}  // namespace xctl
