#include "server/model/funding_payment.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xctl {

absl::StatusOr<FundingPayment> ComputeFunding(const Position& position,
                                              const Instrument& instrument, Decimal rate,
                                              Decimal price, int64_t settlement_time_ms) {
  absl::StatusOr<Decimal> value =
      Decimal::CheckedMul(rate, position.quantity, instrument.contract_value, price);
  if (!value.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the funding of ", position.quantity.ToString(), " ", position.symbol,
        " contracts at rate ", rate.ToString(), " and price ", price.ToString(),
        " is beyond the largest amount xctl counts"));
  }
  // A positive rate: longs pay, shorts receive (index.md, "GET Funding Rate").
  const Decimal amount = Direction(position.side) > 0 ? -*value : *value;
  return FundingPayment{.strategy_id = position.strategy_id,
                        .symbol = position.symbol,
                        .position_id = position.id,
                        .settlement_time_ms = settlement_time_ms,
                        .rate = rate,
                        .price = price,
                        .side = position.side,
                        .quantity = position.quantity,
                        .amount = amount,
                        .mode = position.mode,
                        .source = kFundingSourceComputed};
}

}  // namespace xctl
