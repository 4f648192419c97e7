// ClusterFeed's receiver and remote snapshot cache (cluster_feed_impl.h): the
// NATS callbacks admit other instances' messages (own, local, duplicate and
// out-of-order ones dropped and counted), keep the open rows and the latest
// KPIs of each remote strategy with the node that sent them and when, and put
// what is new on the local ControlFeed; silent strategies are forgotten; the
// snapshot queries read the cache.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cluster/cluster_feed_impl.h"
#include "server/cluster/subjects.h"
#include "server/common/log.h"

namespace xctl::cluster {

void ClusterFeed::Impl::Forget() {
  const absl::Duration after = ForgetAfter();
  if (after == absl::InfiniteDuration()) return;
  const int64_t limit = options.clock->NowMillis() - absl::ToInt64Milliseconds(after);
  cluster_kpis.ForgetSilent(limit);
  absl::MutexLock lock(&mu);
  for (auto it = cache.begin(); it != cache.end();) {
    if (it->second.last_heard_ms < limit) {
      spdlog::info("event=cluster_feed_forgot strategy={} node={} silent_ms={}", it->first,
                   LogQuote(it->second.node),
                   options.clock->NowMillis() - it->second.last_heard_ms);
      ++stats.forgotten;
      cache.erase(it++);
    } else {
      ++it;
    }
  }
}

void ClusterFeed::Impl::Invalid(absl::string_view subject, absl::string_view error) {
  ++stats.invalid;
  const int64_t now = options.clock->NowMillis();
  if (now - last_invalid_log_ms >= 10'000) {
    last_invalid_log_ms = now;
    spdlog::warn("event=cluster_feed_message_invalid subject={} error={}", LogQuote(subject),
                 LogQuote(error));
  }
}

bool ClusterFeed::Impl::Admit(absl::string_view subject, absl::string_view prefix,
                              const FeedMessageHeader& h,
                              absl::flat_hash_map<std::string, Order>& orders,
                              absl::string_view kind) {
  if (h.publisher == options.node_id) {
    ++stats.own_ignored;
    return false;
  }
  if (subject != absl::StrCat(prefix, h.strategy_id)) {
    Invalid(subject, absl::StrCat("strategy ", h.strategy_id, " on another strategy's subject"));
    return false;
  }
  Order& o = orders[h.publisher];
  if (o.incarnation != h.incarnation) {
    o = Order{.incarnation = h.incarnation, .sequence = h.sequence};
    return true;
  }
  if (h.sequence <= o.sequence) {
    ++stats.duplicates;
    return false;
  }
  if (h.sequence > o.sequence + 1) {
    stats.gaps += h.sequence - o.sequence - 1;
    const int64_t now = options.clock->NowMillis();
    if (now - last_gap_log_ms >= 10'000) {
      last_gap_log_ms = now;
      spdlog::warn("event=cluster_feed_gap kind={} publisher={} missed={}", kind,
                   LogQuote(h.publisher), h.sequence - o.sequence - 1);
    }
  }
  o.sequence = h.sequence;
  return true;
}

void ClusterFeed::Impl::OnPositions(absl::string_view subject, absl::string_view payload) {
  auto m = DecodePositionMessage(payload);
  if (m.ok() && m->header.publisher != options.node_id && options.is_local(m->header.strategy_id)) {
    absl::MutexLock lock(&mu);
    ++stats.local_ignored;
    return;
  }
  std::vector<PositionView> to_feed;
  {
    absl::MutexLock lock(&mu);
    if (!m.ok()) return Invalid(subject, m.status().message());
    if (!Admit(subject, kPositionPrefix, m->header, position_order, "positions")) return;
    ++stats.received;
    Cached& c = cache[m->header.strategy_id];
    c.node = m->header.publisher;
    c.last_heard_ms = options.clock->NowMillis();
    if (m->header.full_state) {
      // The complete open set: replace; only rows new here go to streams
      // (the rest they already have).
      std::map<int64_t, PositionView> open;
      for (PositionView& v : m->positions) {
        if (v.position.status != PositionStatus::kOpen) continue;
        if (!c.open.contains(v.position.id)) to_feed.push_back(v);
        open.emplace(v.position.id, std::move(v));
      }
      c.open = std::move(open);
    } else {
      for (const PositionView& v : m->positions) {
        if (v.position.status == PositionStatus::kOpen) {
          c.open.insert_or_assign(v.position.id, v);
        } else {
          c.open.erase(v.position.id);
        }
      }
      to_feed = std::move(m->positions);
    }
  }
  feed->PublishPositions(to_feed);
}

void ClusterFeed::Impl::OnKpis(absl::string_view subject, absl::string_view payload) {
  auto m = DecodeKpiMessage(payload);
  // The cluster-wide table takes every valid message, ours and those of
  // strategies we run too, so every instance folds the same ones; a
  // deposed owner's (lower epoch) is refused there.
  if (m.ok()) {
    cluster_kpis.Apply(m->kpis, m->header.publisher, m->header.owner_epoch,
                       options.clock->NowMillis());
  }
  if (m.ok() && m->header.publisher != options.node_id && options.is_local(m->header.strategy_id)) {
    absl::MutexLock lock(&mu);
    ++stats.local_ignored;
    return;
  }
  std::vector<KpiView> to_feed;
  {
    absl::MutexLock lock(&mu);
    if (!m.ok()) return Invalid(subject, m.status().message());
    if (!Admit(subject, kKpiPrefix, m->header, kpi_order, "kpis")) return;
    ++stats.received;
    Cached& c = cache[m->header.strategy_id];
    c.node = m->header.publisher;
    c.last_heard_ms = options.clock->NowMillis();
    if (!m->header.full_state || !c.kpis) to_feed.push_back(m->kpis);
    c.kpis = std::move(m->kpis);
  }
  feed->PublishKpis(to_feed);
}

std::vector<PositionView> ClusterFeed::RemoteOpenPositions(const FeedFilter& filter) const {
  std::vector<PositionView> out;
  std::vector<std::string> ids;
  {
    absl::MutexLock lock(&impl_->mu);
    for (const auto& [id, c] : impl_->cache) {
      if (!filter.strategy_id.empty() && id != filter.strategy_id) continue;
      for (const auto& [pid, v] : c.open) {
        if (filter.Matches(v)) out.push_back(v);
      }
    }
  }
  // Local views win: hide strategies this instance runs now.
  absl::flat_hash_map<std::string, bool> local;
  std::erase_if(out, [&](const PositionView& v) {
    auto [it, inserted] = local.try_emplace(v.position.strategy_id, false);
    if (inserted) it->second = impl_->options.is_local(v.position.strategy_id);
    return it->second;
  });
  std::sort(out.begin(), out.end(), [](const PositionView& a, const PositionView& b) {
    return a.position.id < b.position.id;
  });
  return out;
}

std::vector<KpiView> ClusterFeed::RemoteKpis(const FeedFilter& filter) const {
  std::vector<KpiView> out;
  {
    absl::MutexLock lock(&impl_->mu);
    for (const auto& [id, c] : impl_->cache) {
      if (c.kpis && filter.Matches(*c.kpis)) out.push_back(*c.kpis);
    }
  }
  std::erase_if(out, [&](const KpiView& v) { return impl_->options.is_local(v.name); });
  std::sort(out.begin(), out.end(),
            [](const KpiView& a, const KpiView& b) { return a.name < b.name; });
  return out;
}

std::vector<ClusterFeed::RemoteStrategy> ClusterFeed::RemoteStrategies() const {
  std::vector<RemoteStrategy> out;
  absl::MutexLock lock(&impl_->mu);
  for (const auto& [id, c] : impl_->cache) {
    out.push_back(RemoteStrategy{.strategy_id = id, .node = c.node,
                                 .last_heard_ms = c.last_heard_ms,
                                 .open_positions = c.open.size(),
                                 .has_kpis = c.kpis.has_value()});
  }
  std::sort(out.begin(), out.end(), [](const RemoteStrategy& a, const RemoteStrategy& b) {
    return a.strategy_id < b.strategy_id;
  });
  return out;
}

}  // namespace xctl::cluster
