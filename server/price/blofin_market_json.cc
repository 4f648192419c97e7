// The BloFin market-data parsers (blofin_market_json.h).
#include "server/price/blofin_market_json.h"

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "server/common/status_macros.h"

namespace xctl {
namespace {

std::optional<Decimal> DecimalField(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  auto d = Decimal::Parse(absl::string_view(it->value.GetString(), it->value.GetStringLength()));
  if (!d.ok() || !d->is_positive()) return std::nullopt;
  return *d;
}

absl::Status Malformed(absl::string_view what, absl::string_view endpoint = "tickers") {
  return absl::UnavailableError(absl::StrCat("blofin ", endpoint, ": malformed response: ", what));
}

// Parses BloFin's envelope ({"code":"0","msg":...,"data":[...]}) into `doc`
// and returns its data array; `endpoint` names the call in errors.
absl::StatusOr<const rapidjson::Value*> DataArray(rapidjson::Document& doc, absl::string_view body,
                                                  absl::string_view endpoint) {
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    return Malformed(absl::StrCat(rapidjson::GetParseError_En(doc.GetParseError()),
                                  " at offset ", doc.GetErrorOffset()),
                     endpoint);
  }
  if (!doc.IsObject()) return Malformed("not a JSON object", endpoint);
  auto code = doc.FindMember("code");
  if (code == doc.MemberEnd()) return Malformed("no \"code\"", endpoint);
  std::string code_s = code->value.IsString() ? code->value.GetString()
                       : code->value.IsInt()  ? std::to_string(code->value.GetInt())
                                              : "?";
  if (code_s != "0") {
    auto msg = doc.FindMember("msg");
    std::string msg_s = (msg != doc.MemberEnd() && msg->value.IsString()) ? msg->value.GetString() : "";
    if (code_s == "429") {
      return absl::ResourceExhaustedError(
          absl::StrCat("blofin ", endpoint, ": rate limited (code 429): ", msg_s));
    }
    return absl::UnavailableError(absl::StrCat("blofin ", endpoint, ": code ", code_s, ": ", msg_s));
  }
  auto data = doc.FindMember("data");
  if (data == doc.MemberEnd() || !data->value.IsArray()) {
    return Malformed("no \"data\" array", endpoint);
  }
  return &data->value;
}

std::optional<int64_t> MillisField(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  int64_t ms = 0;
  if (it == obj.MemberEnd() || !it->value.IsString() ||
      !absl::SimpleAtoi(it->value.GetString(), &ms) || ms <= 0) {
    return std::nullopt;
  }
  return ms;
}

}  // namespace

std::optional<Tick> BlofinTickerFromJson(const rapidjson::Value& item) {
  if (!item.IsObject()) return std::nullopt;
  auto inst = item.FindMember("instId");
  if (inst == item.MemberEnd() || !inst->value.IsString()) return std::nullopt;
  std::optional<Decimal> last = DecimalField(item, "last");
  if (!last) return std::nullopt;  // an entry without a usable price is skipped
  Tick t;
  t.pair = inst->value.GetString();
  t.last = *last;
  t.bid = DecimalField(item, "bidPrice");
  t.ask = DecimalField(item, "askPrice");
  if (t.bid && t.ask && *t.bid > *t.ask) {  // crossed book: keep last only
    t.bid.reset();
    t.ask.reset();
  }
  // Without a usable "ts", 0: the receive time stands in.
  t.exchange_time_ms = MillisField(item, "ts").value_or(0);
  return t;
}

absl::StatusOr<std::vector<Tick>> ParseBlofinTickers(
    absl::string_view body, const std::vector<std::string>& pairs) {
  rapidjson::Document doc;
  XCTL_ASSIGN_OR_RETURN(const rapidjson::Value* data, DataArray(doc, body, "tickers"));
  absl::flat_hash_set<std::string> wanted(pairs.begin(), pairs.end());
  std::vector<Tick> out;
  for (const auto& item : data->GetArray()) {
    std::optional<Tick> t = BlofinTickerFromJson(item);
    if (t && wanted.contains(t->pair)) out.push_back(*std::move(t));
  }
  return out;
}


absl::StatusOr<std::vector<FundingRate>> ParseBlofinFundingRates(absl::string_view body) {
  rapidjson::Document doc;
  XCTL_ASSIGN_OR_RETURN(const rapidjson::Value* data, DataArray(doc, body, "funding-rate"));
  std::vector<FundingRate> out;
  for (const auto& item : data->GetArray()) {
    if (!item.IsObject()) continue;
    auto inst = item.FindMember("instId");
    auto rate = item.FindMember("fundingRate");
    std::optional<int64_t> time = MillisField(item, "fundingTime");
    if (inst == item.MemberEnd() || !inst->value.IsString() || rate == item.MemberEnd() ||
        !rate->value.IsString() || !time) {
      return Malformed("an entry lacks instId, fundingRate or fundingTime", "funding-rate");
    }
    // Rates may be negative and carry up to 18 digits: rounded half-even.
    auto parsed = Decimal::ParseRounded(rate->value.GetString());
    if (!parsed.ok()) return Malformed("fundingRate is not a number", "funding-rate");
    out.push_back(FundingRate{.pair = inst->value.GetString(), .rate = *parsed,
                              .funding_time_ms = *time});
  }
  return out;
}

}  // namespace xctl
