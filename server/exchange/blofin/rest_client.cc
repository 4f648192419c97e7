#include "server/exchange/blofin/rest_client.h"

#include "absl/status/status.h"
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/json.h"
#include "server/common/error_reason.h"
#include "server/exchange/blofin/signer.h"

namespace xctl::blofin {
namespace {

constexpr absl::string_view kCodePayload = "blofin_code";

absl::Status WithCode(absl::Status status, absl::string_view code) {
  status.SetPayload(kCodePayload, absl::Cord(code));
  return status;
}

bool OneOf(absl::string_view code, std::initializer_list<absl::string_view> codes) {
  for (absl::string_view c : codes) {
    if (code == c) return true;
  }
  return false;
}

// Codes whose meaning is "the request was malformed" (errors.md).
bool IsParameterCode(absl::string_view code) {
  if (OneOf(code, {"400", "404", "405", "406", "542", "80001", "102014", "102015", "102064",
                   "102065"})) {
    return true;
  }
  int n = 0;
  if (!absl::SimpleAtoi(code, &n)) return false;
  return (n >= 152001 && n <= 152015) || (n >= 102037 && n <= 102055);
}

std::string Member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return "";
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return "";
  if (it->value.IsString()) return it->value.GetString();
  if (it->value.IsInt64()) return absl::StrCat(it->value.GetInt64());
  return "";
}

bool Unreserved(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',';
}

std::string Encode(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (Unreserved(c)) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  return out;
}

}  // namespace

namespace {

// What one BloFin code (errors.md) means for xctl: the status, what a person
// should check, and whether an order request answered with it may still
// have been executed. The one table behind CodeStatus and IsUncertain.
struct CodeMeaning {
  absl::StatusCode status = absl::StatusCode::kFailedPrecondition;
  absl::string_view hint;
  bool uncertain = false;
  // The reason clients see (server/common/error_reason.h).
  const char* reason = reason::kExchangeRejected;
};

CodeMeaning Meaning(absl::string_view code) {
  using Code = absl::StatusCode;
  if (OneOf(code, {"500", "103013"})) {  // BloFin's internal
    return {Code::kUnavailable, "", true, reason::kExchangeUnavailable};
  }
  if (code == "429") return {Code::kResourceExhausted, "", false, reason::kExchangeRateLimited};
  // errors.md 150004 "Insufficient balance", 103003 "Insufficient USDT margin".
  if (OneOf(code, {"150004", "103003"})) {
    return {Code::kFailedPrecondition, "", false, reason::kInsufficientMargin};
  }
  // errors.md 102068: the order is filled or cancelled already.
  if (code == "102068") return {Code::kFailedPrecondition, "", false, reason::kOrderNotCancelable};
  if (OneOf(code, {"102002", "150003"})) return {Code::kAlreadyExists};
  if (IsParameterCode(code)) return {Code::kInvalidArgument};
  if (OneOf(code, {"152405", "152410"})) {
    return {Code::kFailedPrecondition,
            "is this machine's clock right? BloFin accepts 60 s of difference"};
  }
  // errors.md 152407 "Repeated nonce": this very signed request reached
  // BloFin before (libcurl resends a request once when a kept-alive
  // connection drops), and that first copy may have been executed.
  if (code == "152407") {
    return {Code::kFailedPrecondition,
            "the same signed request reached BloFin twice: resent after a dropped connection",
            true};
  }
  if (code == "152406") {
    return {Code::kFailedPrecondition, "add this machine's IP address to the API key on BloFin"};
  }
  if (code == "152404") return {Code::kFailedPrecondition, "the API key needs the TRADE permission"};
  if (code == "401" || absl::StartsWith(code, "1524")) {
    return {Code::kFailedPrecondition, "check the strategy's BloFin API key, secret and passphrase"};
  }
  if (code == "102089") {
    return {Code::kFailedPrecondition,
            "the account's position mode changed: xctl trades one-way (net) mode"};
  }
  // Definite refusals of errors.md (margin, position, cancel, settings; 1
  // and 2 are the batch envelopes).
  if (OneOf(code, {"102005", "102022", "110006", "110019", "1000", "1", "2"})) {
    return {Code::kFailedPrecondition};
  }
  // A code this client does not know: assume the worst.
  return {Code::kFailedPrecondition, "", true};
}

}  // namespace

absl::Status CodeStatus(absl::string_view code, absl::string_view msg) {
  if (code == "0") return absl::OkStatus();
  const CodeMeaning meaning = Meaning(code);
  std::string text = absl::StrCat("BloFin ", code, ": ", msg.empty() ? "(no message)" : msg);
  if (!meaning.hint.empty()) absl::StrAppend(&text, " (", meaning.hint, ")");
  return WithReason(WithCode(absl::Status(meaning.status, text), code), meaning.reason);
}

bool IsUncertain(const absl::Status& status) {
  if (status.ok()) return false;
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    return true;
  }
  const std::string code = BlofinCode(status);
  if (code.empty()) return false;  // refused before sending (budget, back-off)
  return Meaning(code).uncertain;
}

std::vector<const rapidjson::Value*> Items(const rapidjson::Value& data) {
  std::vector<const rapidjson::Value*> out;
  if (data.IsObject()) {
    out.push_back(&data);
  } else if (data.IsArray()) {
    for (const auto& v : data.GetArray()) {
      if (v.IsObject()) out.push_back(&v);
    }
  }
  return out;
}

absl::Status ItemStatus(const rapidjson::Value& item) {
  std::string code = Member(item, "code");
  if (code.empty() || code == "0") return absl::OkStatus();
  return CodeStatus(code, Member(item, "msg"));
}

std::string BlofinCode(const absl::Status& status) {
  auto payload = status.GetPayload(kCodePayload);
  return payload ? std::string(*payload) : "";
}

namespace {

// One public GET of BloFin's market data: the answer's document when it is
// HTTP 200 with code "0" and a data array.
absl::StatusOr<rapidjson::Document> PublicGet(HttpClient& http, const std::string& base_url,
                                              const std::string& path_and_query) {
  const std::string path = path_and_query.substr(0, path_and_query.find('?'));
  XCTL_ASSIGN_OR_RETURN(HttpResponse response,
                        http.Send("GET", base_url + path_and_query, {"Accept: application/json"}));
  if (response.status != 200) {
    return absl::UnavailableError(
        absl::StrCat("BloFin GET ", path, " answered HTTP ", response.status));
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response.body.data(), response.body.size());
  if (doc.HasParseError() || !doc.IsObject() || Member(doc, "code") != "0" ||
      !doc.HasMember("data") || !doc["data"].IsArray()) {
    return absl::UnavailableError(absl::StrCat("BloFin GET ", path, ": malformed answer"));
  }
  return doc;
}

}  // namespace

absl::StatusOr<std::vector<Instrument>> FetchInstruments(HttpClient& http,
                                                         const std::string& base_url) {
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc,
                        PublicGet(http, base_url, "/api/v1/market/instruments"));
  std::vector<Instrument> out;
  for (const auto& v : doc["data"].GetArray()) {
    XCTL_ASSIGN_OR_RETURN(Instrument instrument, ParseInstrument(v));
    out.push_back(std::move(instrument));
  }
  return out;
}

absl::StatusOr<std::vector<MarginTier>> FetchPositionTiers(HttpClient& http,
                                                           const std::string& base_url,
                                                           absl::string_view symbol,
                                                           absl::string_view margin_mode) {
  XCTL_ASSIGN_OR_RETURN(
      rapidjson::Document doc,
      PublicGet(http, base_url,
                absl::StrCat("/api/v1/market/position-tiers?instId=", symbol,
                             "&marginMode=", margin_mode)));
  std::vector<MarginTier> out;
  for (const auto& v : doc["data"].GetArray()) {
    XCTL_ASSIGN_OR_RETURN(MarginTier tier, ParsePositionTier(v));
    out.push_back(tier);
  }
  return out;
}

RestClient::RestClient(RestOptions options, BlofinCredentials credentials, const Clock* clock)
    : options_(std::move(options)),
      credentials_(std::move(credentials)),
      clock_(clock),
      http_(HttpClient::Options{.connect_timeout_ms = options_.connect_timeout_ms,
                                .timeout_ms = options_.timeout_ms}),
      budget_(options_.budget ? options_.budget
                              : RequestBudget::ForHost(options_.base_url, options_.limits,
                                                       clock)) {}

absl::StatusOr<rapidjson::Document> RestClient::Get(absl::string_view path, const Query& query,
                                                    bool background) {
  std::string target(path);
  for (size_t i = 0; i < query.size(); ++i) {
    absl::StrAppend(&target, i == 0 ? "?" : "&", Encode(query[i].first), "=",
                    Encode(query[i].second));
  }
  return Send("GET", target, "",
              background ? RequestBudget::Kind::kSync : RequestBudget::Kind::kPrivate);
}

absl::StatusOr<rapidjson::Document> RestClient::Post(absl::string_view path,
                                                     const std::string& body, bool trade) {
  return Send("POST", std::string(path), body,
              trade ? RequestBudget::Kind::kTrade : RequestBudget::Kind::kPrivate);
}

absl::StatusOr<std::vector<rapidjson::Document>> RestClient::GetPages(absl::string_view path,
                                                                     Query query,
                                                                     const char* cursor,
                                                                     int max_pages) {
  constexpr int kPageSize = 100;  // the documented maximum of "limit"
  query.push_back({"limit", absl::StrCat(kPageSize)});
  std::vector<rapidjson::Document> pages;
  std::string after;
  for (int page = 0; page < max_pages; ++page) {
    Query q = query;
    if (!after.empty()) q.push_back({"after", after});
    XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc, Get(path, q));
    const rapidjson::Value& data = doc["data"];
    const size_t n = data.IsArray() ? data.Size() : 0;
    std::string last = n > 0 ? Member(data[static_cast<rapidjson::SizeType>(n - 1)], cursor) : "";
    pages.push_back(std::move(doc));
    if (n < static_cast<size_t>(kPageSize)) return pages;
    if (last.empty() || last == after) {
      return absl::UnavailableError(absl::StrCat("BloFin GET ", path,
                                                 ": a full page without a usable \"", cursor,
                                                 "\" to page on"));
    }
    after = std::move(last);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("BloFin GET ", path, " lists more than ", max_pages * kPageSize,
                   " records; xctl follows at most that many"));
}

absl::StatusOr<rapidjson::Document> RestClient::Send(absl::string_view method,
                                                     const std::string& target,
                                                     const std::string& body,
                                                     RequestBudget::Kind kind) {
  // index.md "Rate Limits": "trading-related APIs" 30 per 10 s per user. The
  // docs do not say which; every /api/v1/trade/ path is counted, reads too.
  const bool trade_path = absl::StartsWith(target, "/api/v1/trade/");
  XCTL_RETURN_IF_ERROR(budget_->Acquire(kind, credentials_.api_key.value(), trade_path));
  const int64_t timestamp = clock_->NowMillis();
  std::vector<std::string> headers =
      AuthHeaders(credentials_, method, target, body, timestamp, NewNonce());
  headers.push_back("Content-Type: application/json");
  auto response = http_.Send(method, options_.base_url + target, headers, body);
  const std::string what = absl::StrCat(method, " ", target.substr(0, target.find('?')));
  if (!response.ok()) {
    return WithReason(absl::UnavailableError(
        absl::StrCat("BloFin ", what, " failed: ", response.status().message())),
                      reason::kExchangeUnavailable);
  }
  if (response->status == 429) {
    const int wait = std::max(response->retry_after_seconds, 1);
    budget_->BackOff(absl::Seconds(wait), "HTTP 429");
    return WithReason(
        WithCode(absl::ResourceExhaustedError(absl::StrCat(
                     "BloFin 429: rate limit on ", what, "; nothing is sent for ", wait, " s")),
                 "429"),
        reason::kExchangeRateLimited);
  }
  if (response->status == 403) {
    budget_->BackOff(options_.ban_backoff, "HTTP 403");
    return WithReason(absl::ResourceExhaustedError(absl::StrCat(
        "BloFin ", what, " answered HTTP 403 (BloFin's firewall: a temporary ban after too many "
        "requests, or this IP is not allowed); xctl sends nothing for ",
        absl::FormatDuration(options_.ban_backoff))),
                      reason::kExchangeRateLimited);
  }
  if (response->status >= 500) {
    return WithReason(absl::UnavailableError(
        absl::StrCat("BloFin ", what, " answered HTTP ", response->status)),
                      reason::kExchangeUnavailable);
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response->body.data(), response->body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return WithReason(absl::UnavailableError(absl::StrCat(
        "BloFin ", what, " answered HTTP ", response->status, " with a body that is not JSON",
        doc.HasParseError() ? absl::StrCat(" (", rapidjson::GetParseError_En(doc.GetParseError()),
                                           ")")
                            : "")),
                      reason::kExchangeUnavailable);
  }
  const std::string code = Member(doc, "code");
  if (code.empty()) {
    return WithReason(absl::UnavailableError(
        absl::StrCat("BloFin ", what, " answered HTTP ", response->status, " without a code")),
                      reason::kExchangeUnavailable);
  }
  if (code != "0") {
    // "All operations failed" (errors.md, code 1): the item's own code says why.
    if (doc.HasMember("data")) {
      for (const rapidjson::Value* item : Items(doc["data"])) {
        absl::Status s = ItemStatus(*item);
        if (!s.ok()) return s;
      }
    }
    if (code == "429") budget_->BackOff(absl::Seconds(1), "code 429");
    return CodeStatus(code, Member(doc, "msg"));
  }
  if (response->status != 200) {
    return WithReason(absl::UnavailableError(
        absl::StrCat("BloFin ", what, " answered HTTP ", response->status)),
                      reason::kExchangeUnavailable);
  }
  if (!doc.HasMember("data")) {
    return WithReason(
        absl::UnavailableError(absl::StrCat("BloFin ", what, " answered without data")),
        reason::kExchangeUnavailable);
  }
  return doc;
}

}  // namespace xctl::blofin
