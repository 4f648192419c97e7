// sma_cross: a price-driven trend follower. For each pair it keeps the last
// `slow` last-trade prices; when the fast simple moving average crosses above
// the slow one it goes long `quantity` contracts, when it crosses below it
// goes short `quantity` (flipping an opposite position with one order).
//
// Params: fast (ticks, default 5), slow (ticks, default 20, fast < slow <=
// 1000), quantity (contracts, default "1"; must fit the instrument's lot
// size, which exchange control checks).
//
// Rules, exactly:
//  - Stale ticks are ignored (their price is an old one repeated).
//  - The SMAs exist once `slow` prices are in the window. The relation of
//    the two (fast above or below slow) at that point is remembered; nothing
//    is traded then. A cross is a change of that relation on a later tick;
//    equal averages leave the remembered relation as it is.
//  - On a cross up the target is long `quantity`: flat buys `quantity`, short
//    q buys q + `quantity`, already long does nothing. A cross down mirrors
//    it. The current position is read from OpenPositions at the cross, so a
//    position closed by hand is taken into account.
//  - Averages are compared exactly (sums of Decimal units cross-multiplied
//    in 128 bits); no rounding decides a cross.
//  - Trading errors are logged and skipped; the window keeps moving.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/strategy/registry.h"
#include "server/strategy/strategy.h"

namespace xctl {

class SmaCrossStrategy final : public Strategy {
 public:
  static constexpr char kType[] = "sma_cross";

  struct Params {
    int fast = 5;
    int slow = 20;
    Decimal quantity = Decimal::FromInt(1);
  };
  // INVALID_ARGUMENT naming the param for unknown or malformed params.
  [[nodiscard]] static absl::StatusOr<Params> ParseParams(const StrategyParams& params);
  // The registry factory.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Strategy>> Create(
      const StrategyInfo& info, const StrategyParams& params);

  explicit SmaCrossStrategy(const Params& params) : params_(params) {}

  absl::string_view type() const override { return kType; }
  bool price_driven() const override { return true; }
  void OnTick(const Tick& tick, StrategyContext& context) override;

 private:
  struct PairState {
    std::deque<Decimal> window;  // the last `slow` prices, oldest first
    int relation = 0;            // +1 fast above slow, -1 below, 0 not known yet
  };

  // Trades to `target` in `pair` (run on the strategy's trading lane: it
  // reads the open positions there, and uses no member state).
  static void GoTo(PositionSide target, const std::string& pair, Decimal quantity,
                   StrategyContext& context);

  const Params params_;
  absl::flat_hash_map<std::string, PairState> pairs_;
};

}  // namespace xctl
