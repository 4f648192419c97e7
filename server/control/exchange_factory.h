// ExchangeFactory: how exchange control gets the exchange of a strategy,
// injected so tests can hand it fakes. The default factory makes a
// BlofinExchange when the strategy has credentials and a PaperExchange when
// it has none.
#pragma once

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/common/telemetry.h"
#include "server/control/strategy_info.h"
#include "server/exchange/blofin/rest_client.h"
#include "server/exchange/exchange.h"
#include "server/model/instruments.h"
#include "server/model/position_tiers.h"
#include "server/price/funding_rates.h"
#include "server/price/price_view.h"
#include "server/store/store.h"

namespace xctl {

class ExchangeFactory {
 public:
  virtual ~ExchangeFactory() = default;
  // An exchange for `info` in `mode` (the strategy's current mode, or the
  // mode of positions opened before a switch).
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<Exchange>> Make(const StrategyInfo& info,
                                                                      TradingMode mode) = 0;
};

class DefaultExchangeFactory final : public ExchangeFactory {
 public:
  struct Deps {
    Store* store = nullptr;
    const PriceView* prices = nullptr;
    const InstrumentCatalog* instruments = nullptr;
    const Clock* clock = nullptr;
    // When set (the same catalog as `instruments`), the first live exchange
    // loads BloFin's instruments into it (index.md "GET Instruments": lot,
    // tick and maximum sizes, live or suspend), so live orders are checked
    // against BloFin's own specifications, never only the built-in table.
    // Until that succeeds no live exchange is made (UNAVAILABLE: the
    // strategy's start is retried).
    InstrumentCatalog* live_catalog = nullptr;
    // Paper funding rates (the price module; empty for simulated prices)
    // and position tiers (null: built-in) for paper liquidation.
    const FundingRateView* funding = nullptr;
    const TierCatalog* tiers = nullptr;
    // When set, every exchange made is a MeteredExchange reporting its
    // orders and fills here (metered_exchange.h); must outlive them.
    Telemetry* telemetry = nullptr;
  };
  // `blofin` gives the base URL and limits of live exchanges.
  DefaultExchangeFactory(const Deps& deps, blofin::RestOptions blofin)
      : deps_(deps), blofin_(std::move(blofin)) {}

  absl::StatusOr<std::unique_ptr<Exchange>> Make(const StrategyInfo& info,
                                                 TradingMode mode) override;

 private:
  absl::StatusOr<std::unique_ptr<Exchange>> MakeUnmetered(const StrategyInfo& info,
                                                          TradingMode mode);
  absl::Status LoadLiveInstruments();

  const Deps deps_;
  const blofin::RestOptions blofin_;
  absl::Mutex mu_;
  bool live_instruments_loaded_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace xctl
