// StrategyEntry and StrategyTable: the in-memory state the strategy manager's
// parts share. An entry is one strategy: its record as last applied, its
// runtime status, its instance and its price subscription. The table maps
// ids to entries.
//
// Locks, in the only order they are taken (three per strategy, and the
// table's own, which nests with none of them):
//   op_mu  -> run_mu -> mu
// - op_mu serializes the lifecycle operations of one strategy (start, stop,
//   update, delete, taking and dropping ownership); it is held across store
//   and exchange-control calls, so a slow live reconciliation holds up only
//   that strategy.
// - run_mu serializes calls into the instance (ticks, signals) and its
//   replacement.
// - mu guards the fields below it; held only briefly, never across a call out.
// - StrategyTable's mutex guards the map only. It is taken on its own (a
//   caller may hold op_mu or run_mu, never an entry's mu), and no entry lock
//   is taken under it: what the table needs to know of an entry while it
//   holds its lock (`owned`) is an atomic flag. Before the split the table
//   lock sat between run_mu and mu, a fourth level.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/price/tick.h"
#include "server/store/store.h"
#include "server/strategy/strategy.h"

namespace xctl {

enum class StrategyStatus { kStopped, kRunning, kFailed };

// "stopped", "running", "failed".
absl::string_view ToString(StrategyStatus status);

// A running price-driven strategy's ticks (PriceFanout::Join); destroying
// it stops them.
class TickFeed {
 public:
  virtual ~TickFeed() = default;
};

// One strategy known to this manager. Always made with std::make_shared.
struct StrategyEntry : std::enable_shared_from_this<StrategyEntry> {
  // `message`: the status message it starts with (cluster mode: where it runs).
  explicit StrategyEntry(StrategyRecord r, std::string message = "")
      : record(std::move(r)), message(std::move(message)) {}

  // Serializes lifecycle operations (Start/Stop/Update/Delete) of this
  // strategy; held across store and exchange-control calls.
  absl::Mutex op_mu;
  // Serializes calls into the instance (ticks, signals) and its replacement.
  absl::Mutex run_mu ABSL_ACQUIRED_AFTER(op_mu);
  std::unique_ptr<Strategy> strategy ABSL_GUARDED_BY(run_mu);

  // Guards the state below; held only briefly, never across a call out.
  mutable absl::Mutex mu ABSL_ACQUIRED_AFTER(run_mu);
  StrategyRecord record ABSL_GUARDED_BY(mu);
  StrategyStatus status ABSL_GUARDED_BY(mu) = StrategyStatus::kStopped;
  std::string message ABSL_GUARDED_BY(mu);
  bool price_driven ABSL_GUARDED_BY(mu) = false;
  bool signal_driven ABSL_GUARDED_BY(mu) = false;
  bool removed ABSL_GUARDED_BY(mu) = false;
  // Cluster mode: this instance holds the strategy's lease (between
  // TakeOwnership and DropOwnership). Always false without an ownership.
  // Written with op_mu and mu held (so a wait on mu sees it change); atomic
  // so the table can read it under its own lock without taking mu.
  std::atomic<bool> owned{false};
  // FAILED for a passing cause (exchange unreachable, rate limited): when
  // RetryFailed tries it again, and the delay before that (doubled per try).
  absl::Time retry_at ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  absl::Duration retry_delay ABSL_GUARDED_BY(mu) = absl::ZeroDuration();

  // Its ticks while it runs price-driven. Declared last so it goes first.
  std::unique_ptr<TickFeed> subscription ABSL_GUARDED_BY(op_mu);

  // The record's id (it never changes once the entry exists).
  std::string id() const {
    absl::MutexLock lock(&mu);
    return record.id;
  }
};

using StrategyEntryPtr = std::shared_ptr<StrategyEntry>;

// The strategies by id. Thread-safe; its lock is a leaf (see above).
class StrategyTable {
 public:
  // Null when unknown.
  StrategyEntryPtr Find(absl::string_view id) const;
  // Every entry, in no order.
  std::vector<StrategyEntryPtr> Snapshot() const;
  // Puts `entry` under `id`, replacing one there.
  void Put(const std::string& id, StrategyEntryPtr entry);
  // The entry under `id`; when there is none, `make()`'s, put there first.
  // `*fresh` (optional) says which.
  StrategyEntryPtr FindOrPut(const std::string& id, const std::function<StrategyEntryPtr()>& make,
                             bool* fresh = nullptr);
  void Erase(absl::string_view id);
  // Erases the entries not in `keep` that this instance does not own.
  void EraseUnownedExcept(const absl::flat_hash_set<std::string>& keep);

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, StrategyEntryPtr> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl
