// Portfolio: marking to market and the views of rows and KPI scopes.
#include <map>
#include <utility>

#include "server/control/portfolio.h"
#include "server/model/ledger.h"

namespace xctl {

Decimal Portfolio::MarkOf(const std::string& symbol, const Position& row) const {
  auto it = marks_.find(symbol);
  if (it != marks_.end()) return it->second;
  if (TickPtr t = deps_.prices->Latest(symbol)) return t->last;
  return row.open_price;
}

PositionView Portfolio::ViewLocked(const std::string& strategy_type, Position row) const {
  PositionView v{.position = std::move(row), .strategy_type = strategy_type};
  const Position& p = v.position;
  if (p.status == PositionStatus::kOpen) {
    const Decimal mark = MarkOf(p.symbol, p);
    v.mark_price = mark;
    v.unrealized_pnl = ledger::UnrealizedPnl(p, InstrumentOf(p.symbol), mark);
  }
  return v;
}

PositionView Portfolio::OpenViewLocked(const OpenRow& open) const {
  return PositionView{.position = open.row,
                      .strategy_type = open.entry->info.type,
                      .mark_price = MarkOf(open.row.symbol, open.row),
                      .unrealized_pnl = open.contribution.unrealized};
}

KpiView Portfolio::StrategyKpisLocked(const Entry& e) const {
  KpiView v{.kind = KpiScopeKind::kStrategy, .name = e.info.id,
            .strategy_type = e.info.type, .figures = e.kpis.Snapshot(),
            .time_ms = deps_.clock->NowMillis()};
  std::map<std::string, ExposureFigure> exposure;
  for (const auto& [id, open] : e.open) {
    ExposureFigure& x = exposure[open.row.symbol];
    x.symbol = open.row.symbol;
    x.quantity += open.contribution.quantity;
    x.notional += open.contribution.notional;
  }
  for (auto& [symbol, x] : exposure) v.figures.open_exposure.push_back(std::move(x));
  return v;
}

KpiView Portfolio::TypeKpisLocked(const std::string& type) const {
  KpiView v{.kind = KpiScopeKind::kType, .name = type, .time_ms = deps_.clock->NowMillis()};
  auto it = types_.find(type);
  if (it != types_.end()) {
    v.figures = it->second.kpis.Snapshot();
    for (const auto& [symbol, x] : it->second.exposure) {
      v.figures.open_exposure.push_back(
          ExposureFigure{.symbol = symbol, .quantity = x.quantity, .notional = x.notional});
    }
  }
  return v;
}

KpiView Portfolio::AllKpisLocked() const {
  KpiView v{.kind = KpiScopeKind::kAll, .figures = all_.kpis.Snapshot(),
            .time_ms = deps_.clock->NowMillis()};
  for (const auto& [symbol, x] : all_.exposure) {
    v.figures.open_exposure.push_back(
        ExposureFigure{.symbol = symbol, .quantity = x.quantity, .notional = x.notional});
  }
  return v;
}

void Portfolio::MarkEntryLocked(Entry& e, int64_t now, std::vector<KpiView>* out) {
  e.kpis.Mark(now, e.unrealized, static_cast<int64_t>(e.open.size()));
  if (out) out->push_back(StrategyKpisLocked(e));
}

void Portfolio::MarkAggregatesLocked(const absl::flat_hash_set<std::string>& types,
                                     int64_t now, std::vector<KpiView>* out) {
  for (const std::string& name : types) {
    Aggregate& type = types_[name];
    type.kpis.Mark(now, type.unrealized, type.open_positions);
    if (out) out->push_back(TypeKpisLocked(name));
  }
  all_.kpis.Mark(now, all_.unrealized, all_.open_positions);
  if (out) out->push_back(AllKpisLocked());
}

void Portfolio::Mark(const std::vector<TickPtr>& ticks) {
  // Every row of these pairs once, then every touched strategy and
  // aggregate once. Views only for a feed with subscribers.
  const bool publish = feed_.subscriber_count() > 0;
  std::vector<PositionView> positions;
  std::vector<KpiView> kpis;
  {
    absl::MutexLock lock(&mu_);
    EnsureAggregatesLocked();
    absl::flat_hash_set<Entry*> touched;
    absl::flat_hash_map<Aggregate*, Contribution> type_deltas;
    for (const TickPtr& t : ticks) {
      if (t->stale) continue;
      marks_[t->pair] = t->last;
      auto holders = holders_.find(t->pair);
      if (holders == holders_.end()) continue;
      Contribution all_delta;
      type_deltas.clear();
      touched.reserve(touched.size() + holders->second.size());
      for (OpenRow* open : holders->second) {
        const Contribution after = ContributionOf(*open, t->last);
        Contribution delta{.unrealized = after.unrealized - open->contribution.unrealized,
                           .quantity = after.quantity - open->contribution.quantity,
                           .notional = after.notional - open->contribution.notional};
        open->contribution = after;
        Entry& e = *open->entry;
        e.unrealized += delta.unrealized;
        Contribution& type_delta = type_deltas[e.type_aggregate];
        for (Contribution* sum : {&type_delta, &all_delta}) {
          sum->unrealized += delta.unrealized;
          sum->quantity += delta.quantity;
          sum->notional += delta.notional;
        }
        touched.insert(&e);
        if (publish) positions.push_back(OpenViewLocked(*open));
      }
      type_deltas[&all_] = all_delta;
      for (auto& [agg, delta] : type_deltas) {
        agg->unrealized += delta.unrealized;
        ExposureSum& x = agg->exposure[t->pair];
        x.quantity += delta.quantity;
        x.notional += delta.notional;
      }
    }
    if (!touched.empty()) {
      const int64_t now = deps_.clock->NowMillis();
      absl::flat_hash_set<std::string> types;
      for (Entry* e : touched) {
        MarkEntryLocked(*e, now, publish ? &kpis : nullptr);
        types.insert(e->info.type);
      }
      MarkAggregatesLocked(types, now, publish ? &kpis : nullptr);
    }
  }
  if (publish) {
    feed_.PublishPositions(positions);
    feed_.PublishKpis(kpis);
  }
}

}  // namespace xctl
