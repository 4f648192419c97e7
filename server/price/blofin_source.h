// BlofinRestSource: prices from BloFin's public REST market data. One
// `GET /api/v1/market/tickers` per Fetch returns the tickers of every
// instrument; the configured pairs are picked from it (never one request per
// pair or per consumer). The connection is kept alive between polls. Needs no
// credentials. Every request counts against the host's RequestBudget, shared
// with the live strategies' clients (index.md, "Rate Limits": 500 requests a
// minute per IP), and a 429 or 403 pauses all of them.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/common/http_client.h"
#include "server/common/request_budget.h"
#include "server/price/blofin_market_json.h"
#include "server/price/price_source.h"

namespace xctl {

class BlofinRestSource : public PriceSource {
 public:
  // `base_url` such as https://openapi.blofin.com (no trailing slash needed).
  // `budget` set: that budget instead of the host's shared one (tests).
  BlofinRestSource(std::string base_url, int timeout_ms, Clock& clock = SystemClock(),
                   const RequestLimits& limits = {},
                   std::shared_ptr<RequestBudget> budget = nullptr);

  absl::string_view name() const override { return "blofin"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>& pairs) override;
  int RetryAfterMs() const override { return retry_after_ms_; }
  // Instrument ids from GET /api/v1/market/instruments.
  absl::StatusOr<std::vector<std::string>> ListedPairs() override;
  // index.md, "GET Funding Rate": one request per pair (by instId), each a
  // background (kSync) request of the host's budget.
  bool HasFunding() const override { return true; }
  absl::StatusOr<std::vector<FundingRate>> FetchFundingRates(
      const std::vector<std::string>& pairs) override;

 private:
  // One GET of `path` (with its query) within the budget: the body of an
  // HTTP 200, or the status (403 and 429 back the whole host off).
  absl::StatusOr<std::string> Get(absl::string_view path, absl::string_view endpoint,
                                  RequestBudget::Kind kind);

  std::string base_url_;
  Clock& clock_;
  HttpClient http_;
  std::shared_ptr<RequestBudget> budget_;
  int retry_after_ms_ = 0;
};

}  // namespace xctl
