// StrategyShards::TenureOf: the tenure a strategy's exchange is built under
// in cluster mode (docs/cluster.md, "Fencing"): the write fence of this
// instance's lease of the strategy, and the check a live exchange call makes
// on the keeper's local deadline first.
#include <string>

#include "absl/strings/str_cat.h"
#include "server/cluster/strategy_shards.h"
#include "server/cluster/subjects.h"
#include "server/common/error_reason.h"
#include "server/common/status_macros.h"

namespace xctl::cluster {

absl::StatusOr<Tenure> StrategyShards::TenureOf(absl::string_view strategy_id) const {
  XCTL_ASSIGN_OR_RETURN(std::string name, StrategyLeaseName(strategy_id));
  const std::optional<int64_t> epoch = keeper_->HeldEpoch(name);
  if (!epoch) {
    return WithReason(absl::AbortedError(absl::StrCat(
                          "strategy ", strategy_id, ": instance ", options_.node_id,
                          " does not hold its lease (any more); it runs on the lease's holder")),
                      reason::kLeaseLost);
  }
  Tenure tenure;
  // The lease table judges expiry by the database clock: so does the fence.
  // A transaction stalled (its process stopped) at t is ended by the server
  // at t + ttl/2; the lease, renewed at the latest ttl/3 before t, expires
  // no earlier than t + 2/3 ttl: no takeover ever waits for its locks.
  tenure.fence = WriteFence{.lease = name, .holder = holder_, .epoch = *epoch,
                            .idle_timeout = options_.lease_ttl / 2};
  const LeaseKeeper* keeper = keeper_.get();
  tenure.check_time_left = [keeper, name,
                            held_epoch = *epoch](absl::Duration needed) -> absl::Status {
    const absl::Duration left = keeper->TimeLeft(name, held_epoch);
    if (left >= needed) return absl::OkStatus();
    const std::string why =
        left == absl::ZeroDuration()
            ? std::string("this instance no longer holds it")
            : absl::StrCat("it has ", absl::FormatDuration(left),
                           " left before this instance steps down, less than one BloFin request "
                           "may take (", absl::FormatDuration(needed),
                           "): live strategies need cluster.strategy_lease_ttl_ms of at least "
                           "1.8 x blofin.timeout_ms");
    return WithReason(absl::AbortedError(absl::StrCat("live call refused: lease ", name,
                                                      " (epoch ", held_epoch, "): ", why,
                                                      "; nothing was sent to BloFin")),
                      reason::kLeaseLost);
  };
  return tenure;
}

}  // namespace xctl::cluster
