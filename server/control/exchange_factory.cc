#include "server/control/exchange_factory.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "server/exchange/paper/paper_exchange.h"

namespace xctl {

absl::StatusOr<std::unique_ptr<Exchange>> DefaultExchangeFactory::Make(const StrategyInfo& info,
                                                                       TradingMode mode) {
  if (mode == TradingMode::kPaper) {
    auto paper = PaperExchange::Open(
        PaperAccountConfig{.strategy_id = info.id,
                           .starting_balance = info.starting_balance,
                           .leverage = info.leverage,
                           .taker_fee_rate = info.taker_fee(),
                           .maker_fee_rate = info.maker_fee()},
        {.store = deps_.store, .prices = deps_.prices, .instruments = deps_.instruments,
         .clock = deps_.clock});
    if (!paper.ok()) return paper.status();
    return std::unique_ptr<Exchange>(std::move(*paper));
  }
  if (!info.credentials) {
    return absl::FailedPreconditionError(
        absl::StrCat("strategy ", info.id, " has no BloFin credentials for live trading"));
  }
  auto live = BlofinExchange::Open(
      BlofinExchangeConfig{.strategy_id = info.id,
                           .credentials = *info.credentials,
                           .rest = blofin_,
                           .leverage = info.leverage,
                           .starting_balance = info.starting_balance},
      {.store = deps_.store, .instruments = deps_.instruments, .clock = deps_.clock});
  if (!live.ok()) return live.status();
  return std::unique_ptr<Exchange>(std::move(*live));
}

}  // namespace xctl
