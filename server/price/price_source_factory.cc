// MakePriceSource (price_config.h): the configured PriceSource. Apart from
// price_config.cc so that the config (xctl_price_config) links no source.
#include "absl/strings/str_cat.h"
#include "server/price/blofin_source.h"
#include "server/price/blofin_ws_source.h"
#include "server/price/price_config.h"
#include "server/price/replay_source.h"
#include "server/price/simulated_source.h"

namespace xctl {

absl::StatusOr<std::unique_ptr<PriceSource>> MakePriceSource(const PriceConfig& c) {
  if (c.source == "simulated") return std::make_unique<SimulatedSource>(c.seed);
  if (c.source == "blofin") {
    return std::make_unique<BlofinRestSource>(
        c.blofin_url, c.http_timeout_ms, SystemClock(),
        RequestLimits{.per_minute = c.blofin_requests_per_minute});
  }
  if (c.source == "blofin-ws") {
    BlofinWsSource::Options ws{.ws_url = c.blofin_ws_url,
                               .ping_after_ms = BlofinWsPingAfterMs(c),
                               .connect_timeout_ms = c.http_timeout_ms,
                               .refresh_ms = c.interval_ms};
    return std::make_unique<BlofinWsSource>(
        std::move(ws),
        std::make_unique<BlofinRestSource>(
            c.blofin_url, c.http_timeout_ms, SystemClock(),
            RequestLimits{.per_minute = c.blofin_requests_per_minute}));
  }
  if (c.source == "replay") {
    auto replay = ReplaySource::Open(c.replay_file, c.replay_speed);
    if (!replay.ok()) return replay.status();
    return std::unique_ptr<PriceSource>(*std::move(replay));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown price source \"", c.source, "\""));
}

}  // namespace xctl
