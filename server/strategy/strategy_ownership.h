// Cluster mode's side of the strategy manager (docs/cluster.md, "Strategy
// sharding"): StrategyOwnership, the hook that says which strategies this
// instance may run (implemented by cluster::StrategyShards), and
// OwnedStrategies, which keeps the manager's entries in step with it: takes
// a strategy up when its lease is gained, releases it when lost, and keeps
// the strategies it does not own in step with the store.
//
// Without an ownership (the default) nothing here changes anything: every
// strategy is this instance's. Locks: those of the entries (op_mu -> run_mu
// -> mu) and the table's, as strategy_entry.h orders them; none of its own.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/strategy/strategy_entry.h"
#include "server/strategy/strategy_records.h"
#include "server/strategy/strategy_runtime.h"

namespace xctl {

// Cluster mode (docs/cluster.md, "Strategy sharding"): which strategies this
// instance may run. Implemented by cluster::StrategyShards; without it (the
// default) the manager runs every strategy as before.
class StrategyOwnership {
 public:
  virtual ~StrategyOwnership() = default;
  // OK when this instance holds the strategy's lease now (an in-memory
  // check); otherwise UNAVAILABLE naming the owner instance and its lease
  // epoch, or saying that none is live yet. OK as well for ids it knows
  // nothing about (the caller's NOT_FOUND then speaks).
  [[nodiscard]] virtual absl::Status CheckOwner(absl::string_view strategy_id) = 0;
  // A strategy was just created on this instance: a candidate for the
  // leases now rather than at the next placement round.
  virtual void Nominate(absl::string_view strategy_id) = 0;
};

// The status message of a strategy another cluster instance runs.
inline constexpr char kNotOwnedMessage[] =
    "cluster mode: runs on the instance holding its lease, not on this one";

// The manager's entries under an ownership (StrategyManager documents what
// each of its cluster methods does; these are their bodies).
class OwnedStrategies {
 public:
  // Everything given must outlive this object.
  OwnedStrategies(StrategyTable* table, StrategyRecords* records, StrategyRuntime* runtime);

  // Set once, before the manager starts; null: no cluster mode.
  void Set(StrategyOwnership* ownership) { ownership_ = ownership; }
  bool enabled() const { return ownership_ != nullptr; }

  // OK when this instance runs the strategy (or no ownership is set), else
  // the ownership's UNAVAILABLE.
  absl::Status Check(StrategyEntry& entry);

  // Start with an ownership: an entry per record, none run until taken.
  void AddKnown(const std::vector<StrategyRecord>& records);
  // Create with an ownership: the stored record gets an entry and is
  // nominated; waits up to a second for this instance to take it.
  StrategyEntryPtr AddCreated(const StrategyRecord& record);

  absl::Status Take(absl::string_view id);
  void Drop(absl::string_view id, absl::string_view reason);
  absl::StatusOr<std::vector<std::string>> RefreshFromStore();

 private:
  StrategyTable* const table_;
  StrategyRecords* const records_;
  StrategyRuntime* const runtime_;
  StrategyOwnership* ownership_ = nullptr;  // cluster mode only; set before Start
};

}  // namespace xctl
