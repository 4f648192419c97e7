#include "server/control/exchange_factory.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/control/metered_exchange.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "server/exchange/paper/paper_exchange.h"

namespace xctl {

absl::StatusOr<std::unique_ptr<Exchange>> DefaultExchangeFactory::Make(const StrategyInfo& info,
                                                                       TradingMode mode) {
  XCTL_ASSIGN_OR_RETURN(std::unique_ptr<Exchange> exchange, MakeUnmetered(info, mode));
  if (deps_.telemetry == nullptr) return exchange;
  return std::make_unique<MeteredExchange>(std::move(exchange), *deps_.telemetry);
}

absl::StatusOr<std::unique_ptr<Exchange>> DefaultExchangeFactory::MakeUnmetered(
    const StrategyInfo& info, TradingMode mode) {
  if (mode == TradingMode::kPaper) {
    auto paper = PaperExchange::Open(
        PaperAccountConfig{.strategy_id = info.id,
                           .starting_balance = info.starting_balance,
                           .leverage = info.leverage,
                           .taker_fee_rate = info.taker_fee(),
                           .maker_fee_rate = info.maker_fee()},
        {.store = deps_.store, .prices = deps_.prices, .instruments = deps_.instruments,
         .clock = deps_.clock, .funding = deps_.funding, .tiers = deps_.tiers,
         .tenure = info.tenure});
    if (!paper.ok()) return paper.status();
    return std::unique_ptr<Exchange>(std::move(*paper));
  }
  XCTL_RETURN_IF_ERROR(LoadLiveInstruments());
  if (!info.credentials) {
    return absl::FailedPreconditionError(
        absl::StrCat("strategy ", info.id, " has no BloFin credentials for live trading"));
  }
  auto live = BlofinExchange::Open(
      BlofinExchangeConfig{.strategy_id = info.id,
                           .credentials = *info.credentials,
                           .rest = blofin_,
                           .leverage = info.leverage,
                           .private_ws = {.ping_after_ms = blofin_.ws_ping_after_ms}},
      {.store = deps_.store, .instruments = deps_.instruments, .clock = deps_.clock,
       .tenure = info.tenure});
  if (!live.ok()) return live.status();
  return std::unique_ptr<Exchange>(std::move(*live));
}

absl::Status DefaultExchangeFactory::LoadLiveInstruments() {
  if (deps_.live_catalog == nullptr) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (live_instruments_loaded_) return absl::OkStatus();
  HttpClient http({.connect_timeout_ms = blofin_.connect_timeout_ms,
                   .timeout_ms = blofin_.timeout_ms});
  auto listed = blofin::FetchInstruments(http, blofin_.base_url);
  if (!listed.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "BloFin's instruments could not be read, so no live strategy starts yet (it is retried): ",
        listed.status().message()));
  }
  for (const Instrument& i : *listed) deps_.live_catalog->Put(i);
  live_instruments_loaded_ = true;
  spdlog::info("event=live_instruments_loaded count={}", listed->size());
  return absl::OkStatus();
}

}  // namespace xctl
