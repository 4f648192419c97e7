// PriceConfig: how the price module gets prices (source, pairs, interval,
// staleness), and the factory that builds the configured PriceSource.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/price/price_source.h"

namespace xctl {

struct PriceConfig {
  // "simulated", "blofin", "blofin-ws" or "replay".
  std::string source = "simulated";
  // BloFin instrument ids, e.g. BTC-USDT.
  std::vector<std::string> pairs = {"BTC-USDT", "ETH-USDT"};
  // Poll interval; at least 50 ms.
  int interval_ms = 1000;
  // A pair with no new price for this many intervals is marked stale.
  int stale_after_intervals = 5;
  // BloFin REST base URL (production, demo trading or a local test server).
  std::string blofin_url = "https://openapi.blofin.com";
  // BloFin's public WebSocket for the blofin-ws source (index.md, "General
  // Info"; demo: wss://demo-trading-openapi.blofin.com/ws/public). blofin-ws
  // also uses blofin_url, for its REST snapshots, instruments and funding.
  std::string blofin_ws_url = "wss://openapi.blofin.com/ws/public";
  // CSV file for the replay source: timestamp_ms,pair,bid,ask,last
  std::string replay_file;
  // Replay speed factor: 1 = recorded speed, 10 = ten times faster.
  double replay_speed = 1.0;
  // Seed of the simulated source (same seed, same prices).
  uint64_t seed = 42;
  // HTTP timeout of the blofin source (and blofin-ws's connect timeout).
  int http_timeout_ms = 5000;
  // The request budget toward BloFin's host that the blofin source shares
  // with the live strategies (ServerConfig's blofin.requests_per_minute).
  int blofin_requests_per_minute = 400;
};

// Checks the settings without touching the network: known source, interval
// >= 50 ms, valid and distinct pairs, stale_after_intervals >= 1, a readable
// replay file for the replay source, an http(s) URL for the blofin and
// blofin-ws sources and a ws(s) URL for blofin-ws.
[[nodiscard]] absl::Status ValidatePriceConfig(const PriceConfig& config);

// How long blofin-ws waits in silence before its 'ping', and then for the
// answer: half the staleness limit (stale_after_intervals x interval_ms), so
// a quiet but live connection renews its pairs before they go stale, at most
// 20 s (index.md, "WebSocket Connection Management": less than 30 s).
int BlofinWsPingAfterMs(const PriceConfig& config);

// True for the sources that price from BloFin ("blofin" polls REST,
// "blofin-ws" takes pushes): their pairs are BloFin's instruments, with
// BloFin's position tiers and funding.
inline bool IsBlofinPriceSource(absl::string_view source) {
  return source == "blofin" || source == "blofin-ws";
}

// Builds the configured source (after ValidatePriceConfig). Defined in
// xctl_price (price_source_factory.cc); the rest of this header is
// xctl_price_config, which links no source.
[[nodiscard]] absl::StatusOr<std::unique_ptr<PriceSource>> MakePriceSource(
    const PriceConfig& config);

}  // namespace xctl
