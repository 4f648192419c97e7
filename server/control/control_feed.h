// ControlFeed: the in-process bus on which exchange control publishes
// position and KPI changes for the streaming RPCs. Each subscriber has a
// filter and a conflating queue: the newest state per position id and per KPI
// scope, so a burst of marks to market becomes one batch holding each changed
// position once, never one message per change. Publishing never blocks on a
// subscriber; `on_ready` tells a subscriber that something is pending (called
// without any feed lock held, on the publishing thread).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/control/kpis.h"
#include "server/model/types.h"

namespace xctl {

// A position row with its strategy type and, while open, its mark.
struct PositionView {
  Position position;
  std::string strategy_type;
  std::optional<Decimal> mark_price;
  std::optional<Decimal> unrealized_pnl;
};

enum class KpiScopeKind { kStrategy, kType, kAll };

struct KpiView {
  KpiScopeKind kind = KpiScopeKind::kAll;
  // Strategy id (kStrategy), type (kType), "" (kAll).
  std::string name;
  // The strategy's type, for kStrategy.
  std::string strategy_type;
  KpiFigures figures;
  int64_t time_ms = 0;
};

// Empty fields match everything.
struct FeedFilter {
  std::string strategy_id;
  std::string strategy_type;
  // Positions: also deliver rows as they close.
  bool include_closed = false;

  bool Matches(const PositionView& v) const;
  // A strategy filter takes that strategy's KPIs; a type filter the type's
  // and its strategies'; no filter takes every scope.
  bool Matches(const KpiView& v) const;
};

class FeedSubscription;

class ControlFeed {
 public:
  ControlFeed();
  ~ControlFeed();

  // `positions` / `kpis`: which kinds the subscriber wants.
  [[nodiscard]] std::unique_ptr<FeedSubscription> Subscribe(FeedFilter filter, bool positions,
                                                            bool kpis,
                                                            std::function<void()> on_ready);
  void PublishPositions(const std::vector<PositionView>& views);
  void PublishKpis(const std::vector<KpiView>& views);
  size_t subscriber_count() const;

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

class FeedSubscription {
 public:
  struct Batch {
    std::vector<PositionView> positions;  // newest state of each changed row
    std::vector<KpiView> kpis;            // newest figures of each changed scope
    // Changes folded into a newer state of the same key since the last drain.
    uint64_t conflated = 0;
    bool empty() const { return positions.empty() && kpis.empty(); }
  };

  ~FeedSubscription();
  // Takes everything pending.
  Batch Drain();
  // Stops delivery at once. Idempotent.
  void Cancel();

  struct State;

 private:
  friend class ControlFeed;
  FeedSubscription(std::shared_ptr<ControlFeed::Core> core, std::shared_ptr<State> state)
      : core_(std::move(core)), state_(std::move(state)) {}
  std::shared_ptr<ControlFeed::Core> core_;
  std::shared_ptr<State> state_;
};

}  // namespace xctl
