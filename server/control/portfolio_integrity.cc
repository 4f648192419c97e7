// Portfolio::CheckIntegrity: the running sums and indexes against what the
// open rows (and the store's open rows) rebuild.
#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/common/status_macros.h"
#include "server/control/portfolio.h"

namespace xctl {
namespace {

absl::Status Inconsistent(absl::string_view what, const Decimal& running,
                          const Decimal& rebuilt) {
  return WithReason(
      absl::InternalError(absl::StrCat("portfolio: ", what, ": running sum ", running.ToString(),
                                       ", rebuilt ", rebuilt.ToString())),
      reason::kPortfolioInconsistent);
}

absl::Status Broken(absl::string_view what) {
  return WithReason(absl::InternalError(absl::StrCat("portfolio: ", what)),
                    reason::kPortfolioInconsistent);
}

// The position fields the portfolio's figures follow.
bool SameOpenRow(const Position& a, const Position& b) {
  return a.id == b.id && a.symbol == b.symbol && a.side == b.side && a.quantity == b.quantity &&
         a.open_price == b.open_price && a.fees == b.fees && a.mode == b.mode &&
         a.status == b.status;
}

}  // namespace

absl::Status Portfolio::CheckIntegrity() {
  absl::flat_hash_map<std::string, std::vector<Position>> memory;
  {
    absl::MutexLock lock(&mu_);
    XCTL_RETURN_IF_ERROR(CheckSumsLocked());
    for (const auto& [id, e] : entries_) {
      std::vector<Position>& rows = memory[id];
      for (const auto& [row_id, open] : e->open) rows.push_back(open.row);
      std::sort(rows.begin(), rows.end(),
                [](const Position& a, const Position& b) { return a.id < b.id; });
    }
  }
  return CheckAgainstStore(memory);
}

absl::Status Portfolio::CheckSumsLocked() const {
  size_t rows = 0;
  struct Sums {
    Decimal unrealized;
    Decimal unexplained;
    int64_t open_positions = 0;
    std::map<std::string, ExposureSum> exposure;
  };
  absl::flat_hash_map<const Aggregate*, Sums> rebuilt;
  for (const auto& [id, e] : entries_) {
    const std::string scope = absl::StrCat("strategy ", id);
    Decimal unrealized, fees, realized;
    for (const auto& [row_id, open] : e->open) {
      ++rows;
      unrealized += open.contribution.unrealized;
      fees += open.row.fees;
      auto by_id = open_by_id_.find(row_id);
      if (open.entry != e.get() || by_id == open_by_id_.end() || by_id->second != &open) {
        return Broken(absl::StrCat(scope, ": open row #", row_id, " missing from the id index"));
      }
      auto holders = holders_.find(open.row.symbol);
      if (holders == holders_.end() || !holders->second.contains(&open)) {
        return Broken(absl::StrCat(scope, ": open row #", row_id, " missing from the ",
                                   open.row.symbol, " index"));
      }
      if (aggregates_stale_) continue;
      for (const Aggregate* agg : {static_cast<const Aggregate*>(e->type_aggregate), &all_}) {
        ExposureSum& x = rebuilt[agg].exposure[open.row.symbol];
        x.quantity += open.contribution.quantity;
        x.notional += open.contribution.notional;
        ++x.rows;
      }
    }
    for (const ClosedTrade& t : e->trades) realized += t.pnl;
    if (e->unrealized != unrealized) {
      return Inconsistent(absl::StrCat(scope, " unrealized pnl"), e->unrealized, unrealized);
    }
    if (e->open_fees != fees) {
      return Inconsistent(absl::StrCat(scope, " open fees"), e->open_fees, fees);
    }
    if (e->realized != realized) {
      return Inconsistent(absl::StrCat(scope, " realized pnl"), e->realized, realized);
    }
    if (e->trades.size() != e->closed_ids.size()) {
      return Broken(absl::StrCat(scope, ": ", e->trades.size(), " trades but ",
                                 e->closed_ids.size(), " closed row ids"));
    }
    if (aggregates_stale_) continue;
    auto type = types_.find(e->info.type);
    if (type == types_.end() || e->type_aggregate != &type->second) {
      return Broken(absl::StrCat(scope, ": not a member of type ", e->info.type));
    }
    for (const Aggregate* agg : {static_cast<const Aggregate*>(e->type_aggregate), &all_}) {
      Sums& sums = rebuilt[agg];
      sums.unrealized += e->unrealized;
      sums.unexplained += e->unexplained;
      sums.open_positions += static_cast<int64_t>(e->open.size());
    }
  }
  size_t held = 0;
  for (const auto& [symbol, holders] : holders_) held += holders.size();
  if (open_by_id_.size() != rows || held != rows) {
    return Broken(absl::StrCat(rows, " open rows but ", open_by_id_.size(), " in the id index and ",
                               held, " in the symbol index"));
  }
  if (aggregates_stale_) return absl::OkStatus();  // rebuilt from the entries before use
  std::vector<std::pair<std::string, const Aggregate*>> aggregates = {{"all", &all_}};
  for (const auto& [name, agg] : types_) aggregates.push_back({"type " + name, &agg});
  for (const auto& [scope, agg] : aggregates) {
    const Sums& sums = rebuilt[agg];
    if (agg->unrealized != sums.unrealized) {
      return Inconsistent(absl::StrCat(scope, " unrealized pnl"), agg->unrealized,
                          sums.unrealized);
    }
    if (agg->unexplained != sums.unexplained) {
      return Inconsistent(absl::StrCat(scope, " unexplained"), agg->unexplained,
                          sums.unexplained);
    }
    if (agg->open_positions != sums.open_positions) {
      return Broken(absl::StrCat(scope, ": ", agg->open_positions, " open positions counted, ",
                                 sums.open_positions, " rebuilt"));
    }
    if (agg->exposure.size() != sums.exposure.size()) {
      return Broken(absl::StrCat(scope, ": exposure in ", agg->exposure.size(),
                                 " symbols, rebuilt ", sums.exposure.size()));
    }
    for (const auto& [symbol, x] : sums.exposure) {
      auto it = agg->exposure.find(symbol);
      if (it == agg->exposure.end() || it->second.rows != x.rows) {
        return Broken(absl::StrCat(scope, ": ", symbol, " exposure rows differ"));
      }
      if (it->second.quantity != x.quantity) {
        return Inconsistent(absl::StrCat(scope, " ", symbol, " exposure quantity"),
                            it->second.quantity, x.quantity);
      }
      if (it->second.notional != x.notional) {
        return Inconsistent(absl::StrCat(scope, " ", symbol, " exposure notional"),
                            it->second.notional, x.notional);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Portfolio::CheckAgainstStore(
    const absl::flat_hash_map<std::string, std::vector<Position>>& memory) const {
  for (const auto& strategy : memory) {
    const std::string& id = strategy.first;  // not a structured binding: the lambda captures it
    const std::vector<Position>& rows = strategy.second;
    std::vector<Position> stored;
    XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(stored, tx.positions().ListOpen(id));
      return absl::OkStatus();
    }));
    std::sort(stored.begin(), stored.end(),
              [](const Position& a, const Position& b) { return a.id < b.id; });
    if (stored.size() != rows.size()) {
      return Broken(absl::StrCat("strategy ", id, ": ", rows.size(), " open rows in memory, ",
                                 stored.size(), " in the store"));
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!SameOpenRow(rows[i], stored[i])) {
        return Broken(absl::StrCat("strategy ", id, ": open row #", rows[i].id,
                                   " differs from the store's #", stored[i].id, " (quantity ",
                                   rows[i].quantity.ToString(), " vs ",
                                   stored[i].quantity.ToString(), ")"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace xctl
