// The instrument catalog and position tiers xctld starts with: BloFin's
// built-in specifications, then the config's `instruments`, then (when
// blofin.load_instruments) BloFin's own list, and with the BloFin price
// source its position tiers of the priced pairs. What cannot be fetched is
// logged and the built-in data stays.
#pragma once

#include "server/config/config.h"
#include "server/model/instruments.h"
#include "server/model/position_tiers.h"

namespace xctl::app {

// Fills `instruments` and `tiers` for `config` (validated: its instrument
// sizes parse). May call BloFin (blofin.url) and wait up to its timeout.
void LoadInstruments(const ServerConfig& config, InstrumentCatalog& instruments,
                     TierCatalog& tiers);

}  // namespace xctl::app
