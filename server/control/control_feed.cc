#include "server/control/control_feed.h"

#include <algorithm>

namespace xctl {

bool FeedFilter::Matches(const PositionView& v) const {
  if (!strategy_id.empty() && v.position.strategy_id != strategy_id) return false;
  if (!strategy_type.empty() && v.strategy_type != strategy_type) return false;
  return include_closed || v.position.status == PositionStatus::kOpen;
}

bool FeedFilter::Matches(const KpiView& v) const {
  if (!strategy_id.empty()) return v.kind == KpiScopeKind::kStrategy && v.name == strategy_id;
  if (!strategy_type.empty()) {
    return (v.kind == KpiScopeKind::kType && v.name == strategy_type) ||
           (v.kind == KpiScopeKind::kStrategy && v.strategy_type == strategy_type);
  }
  return true;
}

struct FeedSubscription::State {
  FeedFilter filter;
  bool positions = false;
  bool kpis = false;
  std::function<void()> on_ready;
  absl::Mutex mu;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  // Insertion order kept by the vectors; the maps point into them.
  std::vector<PositionView> pending_positions ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<int64_t, size_t> position_index ABSL_GUARDED_BY(mu);
  std::vector<KpiView> pending_kpis ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, size_t> kpi_index ABSL_GUARDED_BY(mu);
  uint64_t conflated ABSL_GUARDED_BY(mu) = 0;

  bool EmptyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return pending_positions.empty() && pending_kpis.empty();
  }
};

struct ControlFeed::Core {
  mutable absl::Mutex mu;
  std::vector<std::shared_ptr<FeedSubscription::State>> subscribers ABSL_GUARDED_BY(mu);

  std::vector<std::shared_ptr<FeedSubscription::State>> Copy() const {
    absl::MutexLock lock(&mu);
    return subscribers;
  }
};

ControlFeed::ControlFeed() : core_(std::make_shared<Core>()) {}
ControlFeed::~ControlFeed() = default;

std::unique_ptr<FeedSubscription> ControlFeed::Subscribe(FeedFilter filter, bool positions,
                                                         bool kpis,
                                                         std::function<void()> on_ready) {
  auto state = std::make_shared<FeedSubscription::State>();
  state->filter = std::move(filter);
  state->positions = positions;
  state->kpis = kpis;
  state->on_ready = std::move(on_ready);
  {
    absl::MutexLock lock(&core_->mu);
    core_->subscribers.push_back(state);
  }
  return std::unique_ptr<FeedSubscription>(new FeedSubscription(core_, state));
}

size_t ControlFeed::subscriber_count() const {
  absl::MutexLock lock(&core_->mu);
  return core_->subscribers.size();
}

namespace {

std::string KpiKey(const KpiView& v) {
  return std::string(1, static_cast<char>('0' + static_cast<int>(v.kind))) + v.name;
}

}  // namespace

void ControlFeed::PublishPositions(const std::vector<PositionView>& views) {
  if (views.empty()) return;
  for (const auto& s : core_->Copy()) {
    if (!s->positions) continue;
    bool notify = false;
    {
      absl::MutexLock lock(&s->mu);
      if (s->cancelled) continue;
      const bool was_empty = s->EmptyLocked();
      for (const PositionView& v : views) {
        if (!s->filter.Matches(v)) continue;
        auto [it, inserted] = s->position_index.try_emplace(v.position.id, s->pending_positions.size());
        if (inserted) {
          s->pending_positions.push_back(v);
        } else {
          s->pending_positions[it->second] = v;
          ++s->conflated;
        }
      }
      notify = was_empty && !s->EmptyLocked();
    }
    if (notify && s->on_ready) s->on_ready();
  }
}

void ControlFeed::PublishKpis(const std::vector<KpiView>& views) {
  if (views.empty()) return;
  for (const auto& s : core_->Copy()) {
    if (!s->kpis) continue;
    bool notify = false;
    {
      absl::MutexLock lock(&s->mu);
      if (s->cancelled) continue;
      const bool was_empty = s->EmptyLocked();
      for (const KpiView& v : views) {
        if (!s->filter.Matches(v)) continue;
        auto [it, inserted] = s->kpi_index.try_emplace(KpiKey(v), s->pending_kpis.size());
        if (inserted) {
          s->pending_kpis.push_back(v);
        } else {
          s->pending_kpis[it->second] = v;
          ++s->conflated;
        }
      }
      notify = was_empty && !s->EmptyLocked();
    }
    if (notify && s->on_ready) s->on_ready();
  }
}

FeedSubscription::~FeedSubscription() { Cancel(); }

FeedSubscription::Batch FeedSubscription::Drain() {
  Batch batch;
  absl::MutexLock lock(&state_->mu);
  batch.positions.swap(state_->pending_positions);
  batch.kpis.swap(state_->pending_kpis);
  state_->position_index.clear();
  state_->kpi_index.clear();
  batch.conflated = state_->conflated;
  state_->conflated = 0;
  return batch;
}

void FeedSubscription::Cancel() {
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->cancelled) return;
    state_->cancelled = true;
  }
  absl::MutexLock lock(&core_->mu);
  auto& subs = core_->subscribers;
  subs.erase(std::remove(subs.begin(), subs.end(), state_), subs.end());
}

}  // namespace xctl
