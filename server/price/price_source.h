// PriceSource: where prices come from. The price module calls Fetch once per
// interval with every configured pair, so one source call serves every
// consumer. A pushing source (blofin-ws, blofin_ws_source.h) also feeds
// PriceModule::Ingest from its own thread (StartPushing below); consumers do
// not change.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/price/funding_rates.h"
#include "server/price/tick.h"

namespace xctl {

class PriceSource {
 public:
  virtual ~PriceSource() = default;

  // "simulated", "blofin", "replay".
  virtual absl::string_view name() const = 0;

  // One fetch of the latest prices of `pairs` (a single upstream request for
  // a remote source). Returns the ticks it has, which may be fewer than the
  // pairs asked for. Errors (network, HTTP, rate limit, malformed answer) are
  // a non-OK status; the module keeps the last good prices.
  // RESOURCE_EXHAUSTED carries a back-off in RetryAfter().
  [[nodiscard]] virtual absl::StatusOr<std::vector<Tick>> Fetch(
      const std::vector<std::string>& pairs) = 0;

  // After a RESOURCE_EXHAUSTED from Fetch: how long the source asked to wait
  // (ms), 0 when it did not say.
  virtual int RetryAfterMs() const { return 0; }

  // The pairs the source can price, for the start-up check; an empty result
  // means "unknown" (no check).
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> ListedPairs() {
    return std::vector<std::string>();
  }

  // A pushing source delivers ticks itself, from a thread of its own:
  // PriceModule::Start calls StartPushing with the configured pairs and a
  // sink (PriceModule::Ingest); PriceModule::Stop calls StopPushing, which
  // returns once the sink is no longer called and never will be. Fetch is
  // still called once per interval; for a pushing source it reads no prices
  // and says whether the push is healthy (an error is logged once as
  // event=price_source_error). The defaults: a source that only polls.
  using PushSink = std::function<void(std::vector<Tick> ticks)>;
  virtual bool Pushes() const { return false; }
  virtual void StartPushing(const std::vector<std::string>& pairs, PushSink sink) {}
  virtual void StopPushing() {}

  // True when the source publishes funding rates (BloFin); the simulated and
  // replay sources do not, and their pairs never settle funding.
  virtual bool HasFunding() const { return false; }
  // The current funding rate of each of `pairs` (a source with funding);
  // pairs it could not read are missing. Errors as Fetch.
  [[nodiscard]] virtual absl::StatusOr<std::vector<FundingRate>> FetchFundingRates(
      const std::vector<std::string>& pairs) {
    return std::vector<FundingRate>();
  }
};

}  // namespace xctl
