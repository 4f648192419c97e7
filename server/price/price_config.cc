#include "server/price/price_config.h"

#include <algorithm>
#include <fstream>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/symbol.h"

namespace xctl {

absl::Status ValidatePriceConfig(const PriceConfig& c) {
  if (c.source != "simulated" && c.source != "blofin" && c.source != "blofin-ws" &&
      c.source != "replay") {
    return absl::InvalidArgumentError(absl::StrCat(
        "price source \"", c.source, "\" is not one of simulated, blofin, blofin-ws, replay"));
  }
  if (c.interval_ms < 50) {
    return absl::InvalidArgumentError(absl::StrCat(
        "price interval ", c.interval_ms, " ms is below the minimum of 50 ms"));
  }
  if (c.stale_after_intervals < 1) {
    return absl::InvalidArgumentError("price stale_after_intervals must be at least 1");
  }
  if (c.pairs.empty()) {
    return absl::InvalidArgumentError("price pairs: configure at least one pair, such as BTC-USDT");
  }
  absl::flat_hash_set<std::string> seen;
  for (const auto& p : c.pairs) {
    if (absl::Status s = ValidateSymbol(p); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("price pairs: ", s.message()));
    }
    if (!seen.insert(p).second) {
      return absl::InvalidArgumentError(absl::StrCat("price pairs: ", p, " is listed twice"));
    }
  }
  if (c.http_timeout_ms < 100) {
    return absl::InvalidArgumentError("price http_timeout_ms must be at least 100");
  }
  const bool blofin = IsBlofinPriceSource(c.source);
  if (blofin && !absl::StartsWith(c.blofin_url, "https://") &&
      !absl::StartsWith(c.blofin_url, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blofin url \"", c.blofin_url, "\" must start with https:// (or http:// for a local test server)"));
  }
  if (c.source == "blofin-ws" && !absl::StartsWith(c.blofin_ws_url, "wss://") &&
      !absl::StartsWith(c.blofin_ws_url, "ws://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blofin_ws_url \"", c.blofin_ws_url,
        "\" must start with wss:// (or ws:// for a local test server)"));
  }
  if (blofin && c.blofin_requests_per_minute < 1) {
    return absl::InvalidArgumentError("blofin requests_per_minute must be at least 1");
  }
  if (c.source == "blofin") {
    // The poll may use half of the budget; orders and their reads need the rest.
    const int64_t per_minute = 60'000 / std::max(c.interval_ms, 1);
    if (per_minute * 2 > c.blofin_requests_per_minute) {
      return absl::InvalidArgumentError(absl::StrCat(
          "price interval_ms ", c.interval_ms, " polls BloFin ", per_minute,
          " times a minute, more than half of blofin.requests_per_minute (",
          c.blofin_requests_per_minute, "; BloFin allows 500 requests a minute per IP, then "
          "bans it for 5 minutes): use interval_ms of at least ",
          (120'000 + c.blofin_requests_per_minute - 1) / c.blofin_requests_per_minute));
    }
  }
  if (c.source == "replay") {
    if (c.replay_file.empty()) {
      return absl::InvalidArgumentError("the replay price source needs a replay file (--replay-file)");
    }
    if (!std::ifstream(c.replay_file)) {
      return absl::NotFoundError(absl::StrCat("cannot read replay file \"", c.replay_file, "\""));
    }
    if (!(c.replay_speed > 0)) {
      return absl::InvalidArgumentError("replay_speed must be > 0");
    }
  }
  return absl::OkStatus();
}

int BlofinWsPingAfterMs(const PriceConfig& c) {
  const int64_t limit = static_cast<int64_t>(c.stale_after_intervals) * c.interval_ms;
  return static_cast<int>(std::clamp<int64_t>(limit / 2, 25, 20'000));
}

}  // namespace xctl
