// The parsers of BloFin's public market data (index.md, "GET Tickers",
// "WS Tickers Channel", "GET Funding Rate"): JSON bodies in, ticks and
// funding rates out. No I/O, so the fuzz build (fuzz/blofin_tickers_fuzz)
// and the blofin-ws messages link them without the price sources.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapidjson/fwd.h"
#include "server/price/price_source.h"

namespace xctl {

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
