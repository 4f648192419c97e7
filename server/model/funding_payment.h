// FundingPayment: one perpetual-swap funding settlement of one position, as
// xctl records it (table `funding_payments`, docs/store.md). Shared by the
// paper exchange, the BloFin exchange, the store and exchange control.
//
// amount = -direction x rate x quantity x contract value x price, rounded
// once (half-even, 9 places): a long pays (negative amount) and a short
// receives when the rate is positive (index.md, "GET Funding Rate").
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "server/common/decimal.h"
#include "server/model/types.h"

namespace xctl {

// How the amount was obtained. BloFin documents no endpoint listing an
// account's funding payments (docs/exchanges.md, "Funding"), so every row is
// "computed": rate x position at the settlement.
inline constexpr char kFundingSourceComputed[] = "computed";

struct FundingPayment {
  int64_t id = 0;  // store id; 0 until stored
  std::string strategy_id;
  std::string symbol;
  int64_t position_id = 0;
  // BloFin's fundingTime of the settlement (UTC ms).
  int64_t settlement_time_ms = 0;
  Decimal rate;      // the settlement's funding rate
  Decimal price;     // the price the amount was computed at
  PositionSide side = PositionSide::kLong;
  Decimal quantity;  // contracts of the position at the settlement (> 0)
  // Signed: negative = paid by the strategy, positive = received.
  Decimal amount;
  TradingMode mode = TradingMode::kPaper;
  std::string source = kFundingSourceComputed;
  int64_t record_time_ms = 0;
};

// The payment of open row `position` at the settlement `settlement_time_ms`
// with `rate` at `price`: every field set but id and record_time_ms.
// INVALID_ARGUMENT when the amount is beyond Decimal's range (nothing is
// recorded then).
[[nodiscard]] absl::StatusOr<FundingPayment> ComputeFunding(const Position& position,
                                                            const Instrument& instrument,
                                                            Decimal rate, Decimal price,
                                                            int64_t settlement_time_ms);

}  // namespace xctl
