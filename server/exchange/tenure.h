// Tenure: the lease tenure under which one strategy's exchange acts in
// cluster mode (docs/cluster.md, "Fencing"). The owner of a strategy's lease
// builds the strategy's exchange with the tenure it holds at that moment
// (OrderRouter::SetTenureSource, supplied by cluster::StrategyShards); the
// exchange object lives no longer than that tenure (losing the lease removes
// the strategy from exchange control), so every write it makes is fenced by
// the epoch under which its work started. Without cluster mode there is no
// tenure and nothing is checked.
#pragma once

#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/store/write_fence.h"

namespace xctl {

struct Tenure {
  // Passed to every store write of the strategy (Store::Transact).
  WriteFence fence;
  // Before a live exchange call (BloFin order placement and cancel): OK while
  // this instance holds the lease with at least `needed` left before its
  // local deadline (LeaseKeeper: ttl/10 before the database lets another
  // instance take it), else LEASE_LOST saying how much is left. Empty: no
  // check (paper exchanges do not call out).
  std::function<absl::Status(absl::Duration needed)> check_time_left;
};

// The fence of `tenure`, or null without one (no check, no cost).
inline const WriteFence* FenceOf(const std::optional<Tenure>& tenure) {
  return tenure ? &tenure->fence : nullptr;
}

}  // namespace xctl
