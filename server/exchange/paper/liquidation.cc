// The liquidation rule (liquidation.h) and PaperExchange::LiquidateLocked.
#include "server/exchange/paper/liquidation.h"

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/model/ledger.h"
#include "server/exchange/paper/paper_exchange.h"

namespace xctl {
namespace paper {

Decimal MaintenanceMargin(const MarginedPosition& p) {
  return Decimal::Mul(p.mark, p.position.quantity, p.instrument.contract_value,
                      p.maintenance_rate);
}

Contribution Contribute(const MarginedPosition& p, Decimal leverage) {
  return {.unrealized = ledger::UnrealizedPnl(p.position, p.instrument, p.mark),
          .maintenance = MaintenanceMargin(p),
          .initial = ledger::InitialMargin(p.position, p.instrument, leverage)};
}

void LiquidationSnapshot::Mark(size_t i, Decimal mark, Decimal leverage) {
  MarginedPosition& p = positions[i];
  Contribution& c = contributions[i];
  if (p.mark == mark && c.initial.is_positive()) return;  // nothing moved
  p.mark = mark;
  // The initial margin does not move with the mark: computed once.
  if (!c.initial.is_positive()) {
    c.initial = ledger::InitialMargin(p.position, p.instrument, leverage);
  }
  const Decimal unrealized = ledger::UnrealizedPnl(p.position, p.instrument, mark);
  const Decimal maintenance = MaintenanceMargin(p);
  unrealized_sum += unrealized - c.unrealized;
  maintenance_sum += maintenance - c.maintenance;
  c.unrealized = unrealized;
  c.maintenance = maintenance;
}

std::vector<size_t> PositionsToLiquidate(const std::vector<MarginedPosition>& positions,
                                         Decimal balance, Decimal leverage, bool isolated) {
  std::vector<size_t> out;
  Decimal unrealized, maintenance;
  for (size_t i = 0; i < positions.size(); ++i) {
    const Contribution c = Contribute(positions[i], leverage);
    if (isolated && IsolatedDue(c)) out.push_back(i);
    unrealized += c.unrealized;
    maintenance += c.maintenance;
  }
  if (!isolated && !positions.empty() && CrossDue(balance, unrealized, maintenance)) {
    for (size_t i = 0; i < positions.size(); ++i) out.push_back(i);
  }
  return out;
}

}  // namespace paper

void PaperExchange::LiquidateLocked(const Tick& tick, std::vector<OrderResult>* results) {
  if (!has_open_) return;
  const bool isolated = config_.margin_mode == "isolated";
  paper::LiquidationSnapshot& snap = liquidation_;
  if (snap.version != writes_) {
    // Something was written since the last read: account and open rows
    // again, with each row's maintenance rate (its tier by size).
    std::optional<Account> account;
    std::vector<Position> open;
    absl::Status read = deps_.store->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(account, tx.accounts().Get(config_.strategy_id));
      XCTL_ASSIGN_OR_RETURN(open, tx.positions().ListOpen(config_.strategy_id));
      return absl::OkStatus();
    });
    if (!read.ok() || !account) {
      spdlog::warn("event=paper_liquidation_check_failed strategy={} error={}",
                   config_.strategy_id, LogQuote(read.ToString()));
      return;
    }
    snap.version = writes_;
    snap.balance = account->balance;
    snap.positions.clear();
    snap.contributions.assign(open.size(), paper::Contribution{});
    snap.unrealized_sum = Decimal();
    snap.maintenance_sum = Decimal();
    snap.by_symbol.clear();
    for (const Position& p : open) {
      const Instrument instrument = InstrumentOf(p.symbol);
      const std::vector<MarginTier> tiers = deps_.tiers
                                                ? deps_.tiers->Get(instrument, config_.margin_mode)
                                                : DefaultTiers(instrument);
      snap.by_symbol[p.symbol].push_back(snap.positions.size());
      snap.positions.push_back(
          {.position = p, .instrument = instrument, .mark = p.open_price,
           .maintenance_rate = MaintenanceMarginRate(tiers, instrument, p.quantity)});
    }
    // Each position at its latest price; one without any price yet counts
    // at its open price (no unrealized pnl) until its pair ticks.
    for (size_t i = 0; i < snap.positions.size(); ++i) {
      TickPtr latest = deps_.prices->Latest(snap.positions[i].position.symbol);
      snap.Mark(i, latest ? latest->last : snap.positions[i].position.open_price,
                config_.leverage);
    }
  }
  // This tick moves only its own pair's positions.
  auto ticked = snap.by_symbol.find(tick.pair);
  if (ticked != snap.by_symbol.end()) {
    for (size_t i : ticked->second) snap.Mark(i, tick.last, config_.leverage);
  }
  std::vector<size_t> due;
  if (isolated) {
    if (ticked != snap.by_symbol.end()) {
      for (size_t i : ticked->second) {
        if (paper::IsolatedDue(snap.contributions[i])) due.push_back(i);
      }
    }
  } else if (!snap.positions.empty() &&
             paper::CrossDue(snap.balance, snap.unrealized_sum, snap.maintenance_sum)) {
    for (size_t i = 0; i < snap.positions.size(); ++i) due.push_back(i);
  }
  if (due.empty()) return;
  // Copies: the fills below make the snapshot stale.
  const std::vector<paper::MarginedPosition> margined = snap.positions;
  std::optional<Account> account = Account{.balance = snap.balance};
  for (size_t i : due) {
    const Position& p = margined[i].position;
    // The closing price: this tick's book, or a fresh price of the symbol.
    const Tick* at = p.symbol == tick.pair ? &tick : nullptr;
    TickPtr latest = at ? nullptr : deps_.prices->Latest(p.symbol);
    if (!at && latest && !latest->stale) at = latest.get();
    if (!at) continue;  // liquidated on its own pair's next tick
    const bool buy = p.side == PositionSide::kShort;
    Order order{.strategy_id = config_.strategy_id,
                .client_order_id = absl::StrCat(paper::kLiquidationClientPrefix, p.id),
                .symbol = p.symbol,
                .side = buy ? Side::kBuy : Side::kSell,
                .type = OrderType::kMarket,
                .quantity = p.quantity,
                .status = OrderStatus::kOpen,
                .reduce_only = true,
                .mode = TradingMode::kPaper};
    const Decimal before = account->balance;
    const Decimal margin = ledger::InitialMargin(p, margined[i].instrument, config_.leverage);
    auto filled = Fill(std::move(order), margined[i].instrument, at->FillPrice(buy),
                       /*maker=*/false);
    if (!filled.ok()) {
      spdlog::warn("event=paper_liquidation_failed strategy={} position={} error={}",
                   config_.strategy_id, p.id, LogQuote(filled.status().ToString()));
      continue;
    }
    OrderResult result = *std::move(filled);
    result.liquidation = true;
    // What BloFin leaves: the loss beyond it is the insurance fund's.
    const Decimal floor = isolated ? before - margin : Decimal();
    absl::Status floored = deps_.store->Transact([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(std::optional<Account> now, tx.accounts().Get(config_.strategy_id));
      if (!now || now->balance >= floor || result.closed_positions.empty()) {
        if (now) account = now;
        return absl::OkStatus();
      }
      const Decimal covered = floor - now->balance;
      Position& closed = result.closed_positions.back();
      closed.pnl = closed.pnl.value_or(Decimal()) + covered;
      XCTL_RETURN_IF_ERROR(tx.positions().Update(closed));
      now->balance = floor;
      XCTL_RETURN_IF_ERROR(tx.accounts().Upsert(*now));
      account = now;
      return absl::OkStatus();
    }, fence());
    ++writes_;  // the floor may have written the account
    if (!floored.ok()) {
      spdlog::warn("event=paper_liquidation_floor_failed strategy={} position={} error={}",
                   config_.strategy_id, p.id, LogQuote(floored.ToString()));
    }
    spdlog::warn(
        "event=paper_liquidation strategy={} position={} symbol={} side={} quantity={} price={} "
        "margin_mode={} maintenance_rate={} balance={}",
        config_.strategy_id, p.id, p.symbol, ToString(p.side), p.quantity.ToString(),
        at->FillPrice(buy).ToString(), config_.margin_mode,
        margined[i].maintenance_rate.ToString(), account->balance.ToString());
    results->push_back(std::move(result));
  }
}

}  // namespace xctl
