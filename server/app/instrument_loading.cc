#include "server/app/instrument_loading.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "server/common/http_client.h"
#include "server/common/log.h"
#include "server/exchange/blofin/rest_client.h"
#include "server/price/price_config.h"

namespace xctl::app {
namespace {

// BloFin's position tiers of the priced pairs in both margin modes
// (index.md, "GET Position Tiers"), for paper liquidation; a pair whose
// tiers cannot be read keeps the built-in table (logged).
void LoadTiers(const ServerConfig& config, HttpClient& http, TierCatalog& tiers) {
  for (const std::string& pair : config.price.pairs) {
    for (absl::string_view mode : {"cross", "isolated"}) {
      auto fetched = blofin::FetchPositionTiers(http, config.blofin.url, pair, mode);
      if (!fetched.ok() || fetched->empty()) {
        spdlog::warn("event=position_tiers_not_loaded symbol={} margin_mode={} error={}", pair,
                     mode, LogQuote(fetched.ok() ? "no tiers" : fetched.status().message()));
        continue;
      }
      tiers.Put(pair, mode, *std::move(fetched));
    }
  }
}

}  // namespace

// Built-in BloFin specifications, then the config's, then (when asked)
// BloFin's own list.
void LoadInstruments(const ServerConfig& config, InstrumentCatalog& instruments,
                     TierCatalog& tiers) {
  for (const Instrument& i : DefaultInstruments()) instruments.Put(i);
  for (const InstrumentConfig& c : config.instruments) {
    // Validated by the config (ValidateConfig): the sizes parse, or are "".
    auto size = [](const std::string& text) -> std::optional<Decimal> {
      if (text.empty()) return std::nullopt;
      return *Decimal::Parse(text);
    };
    instruments.Put(Instrument{.symbol = c.symbol,
                               .contract_value = *Decimal::Parse(c.contract_value),
                               .lot_size = *Decimal::Parse(c.lot_size),
                               .min_size = *Decimal::Parse(c.min_size),
                               .tick_size = *Decimal::Parse(c.tick_size),
                               .max_leverage = *Decimal::Parse(c.max_leverage),
                               .max_market_size = size(c.max_market_size),
                               .max_limit_size = size(c.max_limit_size)});
  }
  if (!config.blofin.load_instruments) return;
  HttpClient http({.timeout_ms = config.blofin.timeout_ms});
  auto listed = blofin::FetchInstruments(http, config.blofin.url);
  if (!listed.ok()) {
    spdlog::warn("event=instruments_not_loaded url={} error={}",
                 LogQuote(RedactUrl(config.blofin.url)), LogQuote(listed.status().message()));
    return;
  }
  for (const Instrument& i : *listed) instruments.Put(i);
  spdlog::info("event=instruments_loaded count={}", listed->size());
  if (IsBlofinPriceSource(config.price.source)) LoadTiers(config, http, tiers);
}

}  // namespace xctl::app
