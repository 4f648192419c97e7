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
#include "rapidjson/fwd.h"
#include "server/common/clock.h"
#include "server/common/http_client.h"
#include "server/common/request_budget.h"
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

// Parses a BloFin tickers response body ({"code":"0","msg":...,"data":[...]})
// and returns the ticks of `pairs` found in it. Errors: a non-zero code
// (UNAVAILABLE with BloFin's code and msg), malformed JSON or fields
// (UNAVAILABLE naming what is wrong). Entries with unparsable prices are
// skipped with the others kept.
[[nodiscard]] absl::StatusOr<std::vector<Tick>> ParseBlofinTickers(
    absl::string_view body, const std::vector<std::string>& pairs);

// One ticker object of BloFin's, as in GET Tickers' data and the WebSocket
// tickers channel's pushes (index.md, "GET Tickers", "WS Tickers Channel":
// instId, last, bidPrice, askPrice, ts): nullopt without an instId or a
// positive last. A crossed book (bid > ask) keeps only last; a missing or
// bad bid/ask is absent; exchange_time_ms is 0 without a usable ts.
std::optional<Tick> BlofinTickerFromJson(const rapidjson::Value& entry);

// Parses a GET Funding Rate (or GET Funding Rate History) response body:
// every entry's instId, fundingRate (signed, rounded to 9 places) and
// fundingTime. Errors as ParseBlofinTickers; an entry lacking a field is
// UNAVAILABLE (a settlement is never guessed).
[[nodiscard]] absl::StatusOr<std::vector<FundingRate>> ParseBlofinFundingRates(
    absl::string_view body);

}  // namespace xctl
