// ClusterFeed's publisher (cluster_feed_impl.h): the worker thread drains the
// local ControlFeed subscription and publishes the changes of the strategies
// this instance runs, one message per strategy and drain, and every
// refresh_interval the complete state of each local strategy.
#include <algorithm>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cluster/cluster_feed_impl.h"
#include "server/cluster/subjects.h"
#include "server/common/log.h"

namespace xctl::cluster {

void ClusterFeed::Impl::Run() {
  const absl::Duration refresh = options.refresh_interval;
  const bool refreshing = refresh > absl::ZeroDuration() &&
                          (options.local_open_positions || options.local_kpis);
  const Clock& clock = *options.clock;
  absl::Time next_refresh = clock.Now() + (refreshing ? refresh : absl::InfiniteDuration());
  absl::Time next_forget = clock.Now() + absl::Seconds(1);
  while (true) {
    bool drain = false;
    {
      absl::MutexLock lock(&work_mu);
      const absl::Time wake = std::min(next_refresh, next_forget);
      clock.AwaitWithDeadline(work_mu, absl::Condition(this, &Impl::WorkReady), wake);
      if (stopping) return;
      drain = pending;
      pending = false;
    }
    if (drain) PublishBatch(local_sub->Drain());
    const absl::Time now = clock.Now();
    if (now >= next_refresh) {
      Refresh();
      next_refresh = now + refresh;
    }
    if (now >= next_forget) {
      Forget();
      next_forget = now + std::min(absl::Seconds(1), ForgetAfter() / 4);
    }
  }
}

void ClusterFeed::Impl::Publish(const std::string& subject,
                                absl::StatusOr<std::string> bytes) {
  absl::Status s = bytes.ok() ? bus->Publish(subject, *bytes) : bytes.status();
  absl::MutexLock lock(&mu);
  if (s.ok()) {
    ++stats.published;
    return;
  }
  ++stats.publish_errors;
  const int64_t now = options.clock->NowMillis();
  if (now - last_publish_error_log_ms >= 10'000) {
    last_publish_error_log_ms = now;
    spdlog::warn("event=cluster_feed_publish_failed node={} subject={} error={}",
                 LogQuote(options.node_id), subject, LogQuote(s.message()));
  }
}

FeedMessageHeader ClusterFeed::Impl::Header(absl::string_view strategy_id, uint64_t sequence,
                                            bool full) const {
  return FeedMessageHeader{.publisher = options.node_id, .incarnation = incarnation,
                           .sequence = sequence, .publish_time_ms = options.clock->NowMillis(),
                           .strategy_id = std::string(strategy_id), .full_state = full,
                           .owner_epoch = options.epoch_of ? options.epoch_of(strategy_id) : 0};
}

void ClusterFeed::Impl::PublishPositions(absl::string_view strategy_id,
                                         std::vector<PositionView> rows, bool full) {
  auto subject = PositionSubject(strategy_id);
  if (!subject.ok()) return;  // not a valid id: cannot be on NATS
  // A full state must be one message (it replaces the receiver's set);
  // changes may be split.
  size_t start = 0;
  do {
    const size_t n = full ? rows.size() : std::min(kMaxPositionsPerMessage, rows.size() - start);
    PositionMessage m{.header = Header(strategy_id, ++position_sequence, full)};
    m.positions.assign(std::make_move_iterator(rows.begin() + start),
                       std::make_move_iterator(rows.begin() + start + n));
    Publish(*subject, EncodePositionMessage(m));
    start += n;
  } while (start < rows.size());
}

void ClusterFeed::Impl::PublishKpi(KpiView view, bool full) {
  auto subject = KpiSubject(view.name);
  if (!subject.ok()) return;
  KpiMessage m{.header = Header(view.name, ++kpi_sequence, full), .kpis = std::move(view)};
  Publish(*subject, EncodeKpiMessage(m));
}

void ClusterFeed::Impl::PublishBatch(FeedSubscription::Batch batch) {
  std::map<std::string, std::vector<PositionView>> by_strategy;
  absl::flat_hash_map<std::string, bool> local;
  auto is_local = [&](const std::string& id) {
    auto [it, inserted] = local.try_emplace(id, false);
    if (inserted) it->second = options.is_local(id);
    return it->second;
  };
  for (PositionView& v : batch.positions) {
    if (is_local(v.position.strategy_id)) {
      by_strategy[v.position.strategy_id].push_back(std::move(v));
    }
  }
  for (auto& [id, rows] : by_strategy) PublishPositions(id, std::move(rows), false);
  for (KpiView& v : batch.kpis) {
    if (v.kind == KpiScopeKind::kStrategy && is_local(v.name)) PublishKpi(std::move(v), false);
  }
}

void ClusterFeed::Impl::Refresh() {
  std::map<std::string, std::vector<PositionView>> by_strategy;
  std::vector<KpiView> kpis;
  if (options.local_kpis) {
    for (KpiView& v : options.local_kpis()) {
      if (v.kind != KpiScopeKind::kStrategy) continue;
      by_strategy.try_emplace(v.name);  // also strategies without positions
      kpis.push_back(std::move(v));
    }
  }
  if (options.local_open_positions) {
    for (PositionView& v : options.local_open_positions()) {
      if (v.position.status != PositionStatus::kOpen) continue;
      by_strategy[v.position.strategy_id].push_back(std::move(v));
    }
  }
  for (auto& [id, rows] : by_strategy) {
    if (!options.is_local(id)) continue;
    if (rows.size() > kMaxPositionsPerMessage) rows.resize(kMaxPositionsPerMessage);
    PublishPositions(id, std::move(rows), true);
  }
  for (KpiView& v : kpis) {
    if (options.is_local(v.name)) PublishKpi(std::move(v), true);
  }
  absl::MutexLock lock(&mu);
  ++stats.refreshes;
}
}  // namespace xctl::cluster
