#include "server/strategy/sma_cross.h"

#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace xctl {
namespace {

using Units = Decimal::Units;

// Prices above this (10^20 USDT, 10^29 units < 2^97) are ignored, so the sums
// of at most 1000 prices times at most 1000 stay far inside 128 bits.
constexpr Decimal kMaxPrice =
    Decimal::FromUnits(static_cast<Units>(10'000'000'000'000'000'000ULL) * 10'000'000'000LL);

Units SumUnits(std::deque<Decimal>::const_iterator begin,
               std::deque<Decimal>::const_iterator end) {
  Units sum = 0;
  for (auto it = begin; it != end; ++it) sum += it->units();
  return sum;
}

}  // namespace

absl::StatusOr<SmaCrossStrategy::Params> SmaCrossStrategy::ParseParams(
    const StrategyParams& params) {
  XCTL_RETURN_IF_ERROR(strategy_params::CheckKnown(kType, params, {"fast", "slow", "quantity"}));
  Params p;
  XCTL_ASSIGN_OR_RETURN(p.fast, strategy_params::Int(kType, params, "fast", 5, 1, 999));
  XCTL_ASSIGN_OR_RETURN(p.slow, strategy_params::Int(kType, params, "slow", 20, 2, 1000));
  if (p.fast >= p.slow) {
    return absl::InvalidArgumentError(absl::StrCat(
        kType, " params: fast (", p.fast, ") must be smaller than slow (", p.slow, ")"));
  }
  XCTL_ASSIGN_OR_RETURN(p.quantity,
                        strategy_params::PositiveDecimal(kType, params, "quantity", "1"));
  return p;
}

absl::StatusOr<std::unique_ptr<Strategy>> SmaCrossStrategy::Create(const StrategyInfo& info,
                                                                   const StrategyParams& params) {
  XCTL_ASSIGN_OR_RETURN(Params p, ParseParams(params));
  return std::make_unique<SmaCrossStrategy>(p);
}

void SmaCrossStrategy::OnTick(const Tick& tick, StrategyContext& context) {
  if (tick.stale || tick.last.Abs() > kMaxPrice) return;
  PairState& state = pairs_[tick.pair];
  state.window.push_back(tick.last);
  if (static_cast<int>(state.window.size()) > params_.slow) state.window.pop_front();
  if (static_cast<int>(state.window.size()) < params_.slow) return;

  const Units slow_sum = SumUnits(state.window.begin(), state.window.end());
  const Units fast_sum = SumUnits(state.window.end() - params_.fast, state.window.end());
  // fast_sum / fast vs slow_sum / slow, without division.
  const Units lhs = fast_sum * params_.slow, rhs = slow_sum * params_.fast;
  const int relation = lhs > rhs ? 1 : (lhs < rhs ? -1 : 0);
  if (relation == 0) return;
  const int previous = state.relation;
  state.relation = relation;
  if (previous == 0 || previous == relation) return;

  spdlog::info(
      "event=sma_cross strategy={} pair={} direction={} fast_sma={} slow_sma={} last={}",
      context.strategy_id(), tick.pair, relation > 0 ? "up" : "down",
      // Shown truncated to 9 places; the decision above is exact.
      Decimal::FromUnits(fast_sum / params_.fast).ToString(),
      Decimal::FromUnits(slow_sum / params_.slow).ToString(),
      tick.last.ToString());
  const PositionSide target = relation > 0 ? PositionSide::kLong : PositionSide::kShort;
  context.Trade([target, pair = tick.pair, quantity = params_.quantity](StrategyContext& c) {
    GoTo(target, pair, quantity, c);
  });
}

void SmaCrossStrategy::GoTo(PositionSide target, const std::string& pair, Decimal quantity,
                            StrategyContext& context) {
  auto positions = context.OpenPositions();
  if (!positions.ok()) {
    spdlog::error("event=sma_cross_skipped strategy={} pair={} reason=positions_unavailable "
                  "error={}",
                  context.strategy_id(), pair, LogQuote(positions.status().message()));
    return;
  }
  for (const Position& p : *positions) {
    if (p.symbol != pair || p.status != PositionStatus::kOpen) continue;
    if (p.side == target) {
      spdlog::info("event=sma_cross_already_positioned strategy={} pair={} side={} quantity={}",
                   context.strategy_id(), pair, ToString(p.side), p.quantity.ToString());
      return;
    }
    quantity += p.quantity;  // flip: close the opposite position too
  }
  OrderRequest request{.symbol = pair,
                       .side = target == PositionSide::kLong ? Side::kBuy : Side::kSell,
                       .type = OrderType::kMarket,
                       .quantity = quantity};
  auto result = context.PlaceOrder(request);
  if (!result.ok()) {
    spdlog::error("event=sma_cross_order_failed strategy={} pair={} side={} quantity={} error={}",
                  context.strategy_id(), pair, ToString(request.side), quantity.ToString(),
                  LogQuote(result.status().message()));
    return;
  }
  spdlog::info("event=sma_cross_order strategy={} pair={} side={} quantity={} order_id={} "
               "status={}",
               context.strategy_id(), pair, ToString(request.side), quantity.ToString(),
               result->order.id, ToString(result->order.status));
}

}  // namespace xctl
