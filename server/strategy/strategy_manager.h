// StrategyManager: the strategies xctl runs. It owns their records (the
// `strategies` table: fields, encrypted credentials, hashed signal secret,
// desired running status), builds one instance per strategy through the
// StrategyRegistry, tells exchange control what each strategy is
// (StrategyTrading: UpsertStrategy, SetRunning, RemoveStrategy), feeds ticks
// to the price-driven ones and signals to the signal-driven ones.
//
// It does not trade itself, price anything or keep positions: exchange
// control does. It never returns or logs credentials or signal secrets.
//
// Status. Each strategy has a desired status, stored (running or stopped,
// set by Create's `start`, StartStrategy and StopStrategy), and a runtime
// status kept in memory: RUNNING, STOPPED or FAILED with a message. FAILED
// means it should run but could not: its instance could not be built, its
// credentials not decrypted, exchange control refused it (a live strategy
// whose reconciliation failed), or OnTick / OnSignal threw. A FAILED
// strategy gets no ticks or signals and exchange control refuses its trades.
// FAILED is not stored: a restart, an Update of a running-desired strategy
// and StartStrategy try again; StopStrategy makes the stop lasting. A
// strategy FAILED for a passing cause (UNAVAILABLE, RESOURCE_EXHAUSTED: a
// live strategy whose exchange is unreachable at start) is also tried again
// by RetryFailed, with back-off.
//
// Prices. The running price-driven strategies share a few callback
// subscriptions on the PriceModule with a fan-out by pair (PriceFanout,
// price_fanout.h; a strategy leaves it at stop). Without a PriceModule
// (tests) ticks are given with DeliverTicks.
//
// Parts. The manager is a façade over four classes, one job each:
// StrategyRecords (strategy_records.h: rows, validation, credentials and
// secrets, the view), StrategyTable (strategy_entry.h: the entries by id),
// StrategyRuntime (strategy_runtime.h: instances, start/stop, FAILED and
// RetryFailed, ticks, signals, trading lanes) and OwnedStrategies
// (strategy_ownership.h: the cluster hook). It keeps the order of the steps
// of each operation and the ownership checks; the parts do the work.
//
// Threads. Every method is thread-safe. Lifecycle operations on one
// strategy are serialized by a per-strategy lock held across the store and
// exchange-control calls (a slow live reconciliation holds up only that
// strategy); calls into one instance (ticks, signals) are serialized by
// another. Lock order: op_mu -> run_mu -> entry mu; the table's lock nests
// with none of them (strategy_entry.h says why).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/common/telemetry.h"
#include "server/config/config.h"
#include "server/control/strategy_info.h"
#include "server/price/price_module.h"
#include "server/store/store.h"
#include "server/strategy/credentials_cipher.h"
#include "server/strategy/registry.h"
#include "server/strategy/signal.h"
#include "server/strategy/strategy.h"
#include "server/strategy/strategy_entry.h"
#include "server/strategy/strategy_ownership.h"
#include "server/strategy/strategy_records.h"
#include "server/strategy/strategy_runtime.h"
#include "server/strategy/strategy_view.h"
#include "server/strategy/tick_latency.h"

namespace xctl {

class StrategyManager {
 public:
  // `prices` may be null (then ticks come from DeliverTicks); `cipher` may be
  // null when no strategy has credentials (setting them is then refused).
  // Everything given must outlive the manager.
  StrategyManager(Store* store, StrategyTrading* trading, PriceModule* prices,
                  const StrategyRegistry* registry, const CredentialsCipher* cipher,
                  const Clock* clock);
  // Drops every price subscription (Shutdown).
  ~StrategyManager();
  StrategyManager(const StrategyManager&) = delete;
  StrategyManager& operator=(const StrategyManager&) = delete;

  // Loads every stored strategy and upserts the config ones, then brings
  // each to its desired status through exchange control. Config strategies
  // missing from the store are created (running when `start`); stored ones
  // get the config's fields (name, pairs, params, balance, leverage, fee
  // rates, and credentials / signal secret when their env variables are
  // named); their desired status stays as stored. Credentials are read from
  // the env variables named by credentials_env and stored encrypted; the
  // signal secret from signal_secret_env, stored hashed.
  //
  // INVALID_ARGUMENT (before anything is changed) for a config strategy with
  // an unknown type, bad params or values, a missing env variable, a type
  // different from the stored one or the id of a deleted strategy; store
  // errors as they are. A strategy that cannot be brought up (exchange
  // control refuses it, undecryptable credentials) is FAILED with the reason
  // and the others go on. FAILED_PRECONDITION when called again after it
  // succeeded (after an error nothing was brought up and it may be retried).
  [[nodiscard]] absl::Status Start(const std::vector<StrategyConfig>& from_config);

  // Stores a new strategy, hands it to exchange control, and starts it when
  // asked. INVALID_ARGUMENT for a bad id, unknown type, bad params, pairs
  // (malformed, repeated, or without prices on this server for a
  // price-driven type) or values, or incomplete credentials;
  // FAILED_PRECONDITION for credentials without a master key;
  // ALREADY_EXISTS when the id is taken
  // (ids of deleted strategies stay taken). Once stored the strategy exists:
  // a failure to register or start it is status FAILED in the returned view.
  [[nodiscard]] absl::StatusOr<StrategyView> Create(const NewStrategy& request);

  // Applies the fields named in `update.paths` and the credentials / secret
  // changes. Setting or clearing credentials switches new orders between
  // live and paper at once (no restart). A running strategy is re-applied
  // with a fresh instance; if exchange control refuses the change it is
  // rolled back and the error returned. NOT_FOUND, INVALID_ARGUMENT (unknown
  // path, nothing to change, bad values, both set and clear).
  [[nodiscard]] absl::StatusOr<StrategyView> Update(const StrategyUpdate& update);

  // Soft-deletes a strategy (its history stays; its id stays taken).
  // FAILED_PRECONDITION while it is running or has open positions or resting
  // orders. NOT_FOUND when unknown.
  [[nodiscard]] absl::Status Delete(absl::string_view id);

  [[nodiscard]] absl::StatusOr<StrategyView> Get(absl::string_view id) const;
  // Sorted by id.
  std::vector<StrategyView> List(const StrategyFilter& filter) const;

  // Starts a strategy (stored as desired) with a fresh instance: price-driven
  // ones are subscribed to their pairs, signal-driven ones take signals.
  // Already running: returns it as it is. When exchange control refuses it,
  // the strategy is FAILED and the error returned.
  [[nodiscard]] absl::StatusOr<StrategyView> StartStrategy(absl::string_view id);

  // Stops a strategy (stored as desired): no more ticks or signals once this
  // returns, and exchange control refuses its trades (SetRunning(false));
  // its positions stay open.
  [[nodiscard]] absl::StatusOr<StrategyView> StopStrategy(absl::string_view id);

  // A signal for a signal-driven strategy. In order: INVALID_ARGUMENT for an
  // empty strategy id, NOT_FOUND for an unknown one, PERMISSION_DENIED
  // "signal secret does not match" when the strategy has a secret and the
  // signal another, FAILED_PRECONDITION when it is not running or its type
  // takes no signals, INVALID_ARGUMENT naming the field for a bad action,
  // symbol, quantity or price, or a symbol outside the strategy's pairs.
  // Nothing is traded unless every check passes. A signal without a client
  // order id gets one derived from its content and the minute
  // (DerivedSignalOrderId; the previous minute's when that one was used), so
  // a replayed alert is answered `replayed` and trades nothing. Then the
  // strategy's OnSignal result (exchange control's errors as they are).
  [[nodiscard]] absl::StatusOr<OrderResult> SubmitSignal(const SignalRequest& request);
  // The first two checks of SubmitSignal only (NOT_FOUND, PERMISSION_DENIED
  // "signal secret does not match"), also for a strategy another instance
  // runs: cluster mode checks the secret where the signal arrived before
  // forwarding it to the owner (docs/cluster.md, "Forwarding").
  [[nodiscard]] absl::Status CheckSignalSecret(const SignalRequest& request) const;

  // Gives ticks to every running price-driven strategy trading their pairs,
  // on the calling thread. For use without a PriceModule (tests, a pushing
  // source); with one, the subscriptions do this.
  void DeliverTicks(const std::vector<TickPtr>& ticks);

  // Drops every price subscription (waiting for running callbacks). Call
  // before the PriceModule stops. Idempotent; the destructor calls it.
  void Shutdown();

  // ---- Cluster mode: the ownership hook (docs/cluster.md) ----------------
  // With an ownership set (before Start), a strategy is run, and handed to
  // exchange control (which loads its positions and resting orders from the
  // store), only between TakeOwnership and DropOwnership; otherwise it is
  // known (List/Get show it, status STOPPED with a message saying it runs on
  // the instance holding its lease) but nothing of it runs here. Start,
  // Stop, Update, Delete and SubmitSignal of a strategy this instance does
  // not own answer the ownership's UNAVAILABLE and change nothing. Create
  // stores the strategy and nominates it; it runs once an instance takes
  // its lease. The stored desired status is never changed by ownership.
  void SetOwnership(StrategyOwnership* ownership);
  // This instance now holds the strategy's lease: reads its record from the
  // store (another owner may have changed it) and brings it to its stored
  // desired status. An error (store unreachable) leaves it not owned; a
  // strategy that cannot be brought up is FAILED (and owned). Deleted
  // strategies are forgotten.
  [[nodiscard]] absl::Status TakeOwnership(absl::string_view id);
  // The lease is lost or given up: stops the strategy here at once (no
  // ticks or signals once this returns, queued trades done or refused),
  // and removes it from exchange control, without touching the store.
  void DropOwnership(absl::string_view id, absl::string_view reason);
  // Syncs the strategies not owned here with the store (new ones created on
  // other instances appear, deleted ones go, changed ones are updated) and
  // returns the ids of every stored strategy: the lease candidates.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> RefreshFromStore();

  // Tries again every strategy that is FAILED for a passing cause (exchange
  // control answered UNAVAILABLE or RESOURCE_EXHAUSTED: BloFin unreachable
  // at start, rate limited) and whose back-off has run out (1 s, doubled per
  // try up to 5 minutes, on the manager's clock); its desired status must
  // still be running. Returns how many were tried. The server calls it every
  // second; tests advance a manual clock and call it.
  int RetryFailed();

  // Waits until the orders that price-driven strategies decided on so far
  // are placed (they run on per-strategy trading lanes, trade_lanes.h).
  void DrainTrading();

  // Tick-to-strategy latency of the last closed 5 s window (also logged as
  // event=strategy_tick_latency).
  std::optional<TickLatency::Figures> TickLatencyWindow() const {
    return runtime_.TickLatencyWindow();
  }
  // Where each tick-to-strategy sample is reported too (server/common/
  // telemetry.h). Set before Start(); `telemetry` must outlive the manager.
  void SetTelemetry(Telemetry* telemetry) { runtime_.SetTelemetry(telemetry); }

 private:
  // Start, part 2: an entry per strategy, each brought to its desired status.
  void BringUp(const std::map<std::string, StrategyRecord>& records);
  // Checks no open positions / resting orders remain.
  absl::Status CheckNoExposure(absl::string_view id);

  StrategyTrading* const trading_;
  StrategyRecords records_;
  StrategyTable table_;
  // Holds the trading lanes: declared after the table so that, destroyed
  // before it, it runs what is queued while the rest still exists.
  StrategyRuntime runtime_;
  OwnedStrategies owned_;

  mutable absl::Mutex start_mu_;
  bool started_ ABSL_GUARDED_BY(start_mu_) = false;
};

}  // namespace xctl
