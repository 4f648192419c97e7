#include "server/exchange/paper/triggers.h"

#include "absl/strings/str_cat.h"

namespace xctl::paper {
namespace {

bool HasTriggers(const Position& p) {
  return p.status == PositionStatus::kOpen && (p.take_profit || p.stop_loss);
}

}  // namespace

absl::string_view ToString(TriggerLeg leg) {
  return leg == TriggerLeg::kTakeProfit ? "take-profit" : "stop-loss";
}

std::optional<TriggerLeg> ReachedLeg(const Position& p, Decimal last) {
  const bool is_long = p.side == PositionSide::kLong;
  if (p.take_profit) {
    const Decimal tp = p.take_profit->trigger_price;
    if (is_long ? last >= tp : last <= tp) return TriggerLeg::kTakeProfit;
  }
  if (p.stop_loss) {
    const Decimal sl = p.stop_loss->trigger_price;
    if (is_long ? last <= sl : last >= sl) return TriggerLeg::kStopLoss;
  }
  return std::nullopt;
}

OrderRequest TriggeredClose(const Position& p, TriggerLeg leg) {
  const TriggerOrder& t = leg == TriggerLeg::kTakeProfit ? *p.take_profit : *p.stop_loss;
  return OrderRequest{
      .strategy_id = p.strategy_id,
      .client_order_id =
          absl::StrCat(leg == TriggerLeg::kTakeProfit ? "tp" : "sl", p.id),
      .symbol = p.symbol,
      .side = p.side == PositionSide::kLong ? Side::kSell : Side::kBuy,
      .type = t.order_price ? OrderType::kLimit : OrderType::kMarket,
      .price = t.order_price,
      .quantity = p.quantity,
      .reduce_only = true};
}

void TriggerBook::Put(const Position& p) {
  if (HasTriggers(p)) {
    by_id_[p.id] = p;
  } else {
    by_id_.erase(p.id);
  }
}

void TriggerBook::Load(const std::vector<Position>& open) {
  by_id_.clear();
  for (const Position& p : open) Put(p);
}

void TriggerBook::Apply(const OrderResult& result) {
  for (const Position& p : result.closed_positions) by_id_.erase(p.id);
  for (const Position& p : result.open_positions) Put(p);
}

void TriggerBook::Drop(int64_t position_id) { by_id_.erase(position_id); }

std::vector<DueTrigger> TriggerBook::Due(const Tick& tick) const {
  std::vector<DueTrigger> out;
  if (tick.stale) return out;
  for (const auto& [id, p] : by_id_) {
    if (p.symbol != tick.pair) continue;
    if (std::optional<TriggerLeg> leg = ReachedLeg(p, tick.last)) out.push_back({p, *leg});
  }
  return out;
}

}  // namespace xctl::paper
