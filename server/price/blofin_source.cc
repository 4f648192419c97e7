#include "server/price/blofin_source.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "rapidjson/document.h"
#include "server/common/status_macros.h"

namespace xctl {

BlofinRestSource::BlofinRestSource(std::string base_url, int timeout_ms, Clock& clock,
                                   const RequestLimits& limits,
                                   std::shared_ptr<RequestBudget> budget)
    : base_url_(absl::StripSuffix(base_url, "/")),
      clock_(clock),
      http_(HttpClient::Options{.connect_timeout_ms = std::min(timeout_ms, 3000),
                                .timeout_ms = timeout_ms}),
      budget_(budget ? std::move(budget) : RequestBudget::ForHost(base_url_, limits, &clock_)) {}

absl::StatusOr<std::string> BlofinRestSource::Get(absl::string_view path,
                                                  absl::string_view endpoint,
                                                  RequestBudget::Kind kind) {
  retry_after_ms_ = 0;
  if (absl::Status slot = budget_->Acquire(kind); !slot.ok()) {
    return absl::ResourceExhaustedError(absl::StrCat("blofin ", endpoint, ": ", slot.message()));
  }
  auto response = http_.Send("GET", absl::StrCat(base_url_, path), {"Accept: application/json"});
  if (!response.ok()) {
    return absl::UnavailableError(
        absl::StrCat("blofin ", endpoint, ": ", response.status().message()));
  }
  if (response->status == 403) {
    // index.md, "Risk Control Restrictions": a five-minute firewall ban.
    budget_->BackOff(absl::Minutes(5), "HTTP 403");
    return absl::ResourceExhaustedError(absl::StrCat(
        "blofin ", endpoint,
        ": HTTP 403 (BloFin's firewall ban); nothing is sent to it for 5 minutes"));
  }
  if (response->status == 429) {
    retry_after_ms_ = response->retry_after_seconds > 0 ? response->retry_after_seconds * 1000 : 0;
    budget_->BackOff(absl::Milliseconds(std::max(retry_after_ms_, 1000)), "HTTP 429");
    return absl::ResourceExhaustedError(absl::StrCat(
        "blofin ", endpoint, ": rate limited (HTTP 429)",
        response->retry_after_seconds > 0
            ? absl::StrCat(", retry after ", response->retry_after_seconds, " s")
            : ""));
  }
  if (response->status != 200) {
    return absl::UnavailableError(absl::StrCat("blofin ", endpoint, ": HTTP ", response->status));
  }
  return std::move(response->body);
}

absl::StatusOr<std::vector<Tick>> BlofinRestSource::Fetch(
    const std::vector<std::string>& pairs) {
  XCTL_ASSIGN_OR_RETURN(std::string body,
                        Get("/api/v1/market/tickers", "tickers", RequestBudget::Kind::kPublic));
  auto ticks = ParseBlofinTickers(body, pairs);
  if (ticks.ok()) {
    int64_t now = clock_.NowMillis();
    for (Tick& t : *ticks) {
      if (t.exchange_time_ms == 0) t.exchange_time_ms = now;
    }
  }
  return ticks;
}

absl::StatusOr<std::vector<FundingRate>> BlofinRestSource::FetchFundingRates(
    const std::vector<std::string>& pairs) {
  // index.md, "GET Funding Rate": instId is optional, but what the endpoint
  // answers without it is not documented, so each pair is asked for by
  // instId. Background requests of the budget: refused first when it runs
  // low, so funding never takes the slots of prices or orders.
  std::vector<FundingRate> out;
  absl::Status first_error;
  for (const std::string& pair : pairs) {
    auto body = Get(absl::StrCat("/api/v1/market/funding-rate?instId=", pair), "funding-rate",
                    RequestBudget::Kind::kSync);
    absl::StatusOr<std::vector<FundingRate>> rates =
        body.ok() ? ParseBlofinFundingRates(*body) : body.status();
    if (!rates.ok()) {
      if (first_error.ok()) first_error = rates.status();
      if (rates.status().code() == absl::StatusCode::kResourceExhausted) break;
      continue;
    }
    const int64_t now = clock_.NowMillis();
    for (FundingRate& r : *rates) {
      if (r.pair != pair) continue;  // only what was asked for is recorded
      r.fetch_time_ms = now;
      out.push_back(std::move(r));
    }
  }
  if (out.empty() && !first_error.ok()) return first_error;
  return out;
}

absl::StatusOr<std::vector<std::string>> BlofinRestSource::ListedPairs() {
  auto response = http_.Send("GET", base_url_ + "/api/v1/market/instruments",
                             {"Accept: application/json"});
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::UnavailableError(absl::StrCat("blofin instruments: HTTP ", response->status));
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response->body.data(), response->body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("data") ||
      !doc["data"].IsArray()) {
    return absl::UnavailableError("blofin instruments: malformed response");
  }
  std::vector<std::string> out;
  for (const auto& item : doc["data"].GetArray()) {
    if (item.IsObject() && item.HasMember("instId") && item["instId"].IsString()) {
      out.emplace_back(item["instId"].GetString());
    }
  }
  return out;
}

}  // namespace xctl
