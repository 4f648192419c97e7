// StrategyRuntime: what runs of each strategy. It builds an entry's instance
// and hands the strategy to exchange control (Apply: UpsertStrategy,
// SetRunning, the price subscription), starts and stops it, marks it FAILED
// (and retries one FAILED for a passing cause, with back-off), feeds it ticks
// (its own callback subscription on the PriceModule, or DeliverTicks) and
// signals, and runs price-driven strategies' orders on their trading lanes.
// Ticks reach the price-driven strategies through one PriceFanout: a few
// shared price subscriptions with a fan-out by pair, not one per strategy.
//
// It does not decide which strategies exist (StrategyRecords and the
// manager do) nor which run on this instance (OwnedStrategies). Its
// methods that take an entry require the entry's op_mu held by the caller
// where they say so (strategy_entry.h has the lock order); the others are
// thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/clock.h"
#include "server/common/telemetry.h"
#include "server/control/strategy_info.h"
#include "server/price/price_module.h"
#include "server/strategy/price_fanout.h"
#include "server/strategy/signal.h"
#include "server/strategy/strategy_entry.h"
#include "server/strategy/strategy_records.h"
#include "server/strategy/strategy_view.h"
#include "server/strategy/tick_latency.h"
#include "server/strategy/trade_lanes.h"

namespace xctl {

class StrategyRuntime {
 public:
  // `prices` may be null (ticks then come from DeliverTicks). Everything
  // given must outlive this object.
  StrategyRuntime(StrategyRecords* records, StrategyTrading* trading, PriceModule* prices,
                  const Clock* clock);

  // Requires entry.op_mu. Fresh instance, UpsertStrategy, SetRunning,
  // subscription; on success the entry holds `record` and is RUNNING (run)
  // or STOPPED. Nothing in the entry changes on failure (exchange control may
  // have seen the change; `reached_control` says whether it was asked).
  absl::Status Apply(StrategyEntry& entry, const StrategyRecord& record, bool run,
                     bool* reached_control = nullptr);
  // FAILED with `reason`; exchange control refuses its trades from now on.
  void MarkFailed(StrategyEntry& entry, absl::string_view reason);
  // MarkFailed, with a retry by RetryFailed when `cause` is passing.
  void MarkFailedOrRetry(StrategyEntry& entry, const absl::Status& cause);
  // Requires entry.op_mu. MarkFailed (or MarkFailedOrRetry when `retry`)
  // with `cause`, and the subscription dropped.
  void Fail(StrategyEntry& entry, const absl::Status& cause, bool retry);
  // Exchange control holds the strategy, stopped, so its positions and KPIs
  // show although its instance could not be made. Logged when refused.
  void RegisterStopped(const StrategyRecord& record);

  // Requires entry.op_mu. StartStrategy's work: stored as desired, fresh
  // instance; already running: as it is.
  absl::StatusOr<StrategyView> Start(StrategyEntry& entry);
  // Requires entry.op_mu. StopStrategy's work: stored as desired, no ticks
  // or signals once it returns, queued trades done, SetRunning(false).
  absl::StatusOr<StrategyView> Stop(StrategyEntry& entry);
  // Requires entry.op_mu. No ticks or signals once it returns, instance gone,
  // queued trades done (or refused), removed from exchange control; the
  // store is not touched. `message`: its status message (STOPPED).
  void Release(StrategyEntry& entry, absl::string_view message);
  // Requires entry.op_mu. After its soft delete: subscription and instance
  // gone, marked removed, removed from exchange control.
  void Remove(StrategyEntry& entry);

  // Tries again the FAILED `entries` whose cause was passing and whose
  // back-off has run out (desired running; with `owned_only`, owned here).
  int RetryFailed(const std::vector<StrategyEntryPtr>& entries, bool owned_only);

  // The checks and the run of SubmitSignal for `entry` (ownership checked by
  // the caller); StrategyManager::SubmitSignal documents the answers.
  absl::StatusOr<OrderResult> SubmitSignal(StrategyEntry& entry, const SignalRequest& request);
  // Ticks for one strategy (its subscription callback, or DeliverTicks).
  void DispatchTicks(StrategyEntry& entry, const std::vector<TickPtr>& ticks);

  // Drops every subscription of `entries` (waiting for running callbacks),
  // then runs what the trading lanes hold.
  void Shutdown(const std::vector<StrategyEntryPtr>& entries);
  // Waits until the orders decided so far are placed.
  void DrainTrading() { lanes_.DrainAll(); }

  // Tick-to-strategy latency of the last closed 5 s window.
  std::optional<TickLatency::Figures> TickLatencyWindow() const {
    return tick_latency_.LastWindow();
  }
  // Where each tick-to-strategy sample is reported too. Set before ticks flow.
  void SetTelemetry(Telemetry* telemetry) { telemetry_ = telemetry; }

 private:
  // Exchange control forgets the strategy (logged when it does not confirm).
  void RemoveFromControl(const std::string& id);
  // Requires entry.op_mu. Drops the ticks and the instance (waiting for a
  // tick or signal in progress), then runs `mark` with entry.mu held; the id.
  std::string Unload(StrategyEntry& entry, absl::FunctionRef<void()> mark);

  StrategyRecords* const records_;
  StrategyTrading* const trading_;
  PriceModule* const prices_;
  const Clock* const clock_;
  TickLatency tick_latency_;
  Telemetry* telemetry_ = &NoTelemetry();
  // Destroyed first, running what is queued while the rest still exists.
  TradeLanes lanes_{4};
  // After lanes_: closed (no callback running) before the lanes go. Null
  // without a PriceModule.
  std::unique_ptr<PriceFanout> fanout_;
};

}  // namespace xctl
