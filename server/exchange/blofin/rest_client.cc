#include "server/exchange/blofin/rest_client.h"

#include "absl/status/status.h"
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/json.h"
#include "server/exchange/blofin/signer.h"

namespace xctl::blofin {
namespace {

constexpr absl::string_view kCodePayload = "blofin_code";

absl::Status WithCode(absl::Status status, absl::string_view code) {
  status.SetPayload(kCodePayload, absl::Cord(code));
  return status;
}

// The status of a BloFin error code.
absl::Status CodeStatus(absl::string_view code, absl::string_view msg) {
  const std::string text = absl::StrCat("BloFin ", code, ": ", msg);
  absl::Status status;
  if (code == "152001" || code == "152002" || code == "102014" || code == "102015") {
    status = absl::InvalidArgumentError(text);
  } else if (code == "102050") {
    status = absl::AlreadyExistsError(text);
  } else if (code == "429") {
    status = absl::ResourceExhaustedError(text);
  } else if (code == "152405") {
    status = absl::FailedPreconditionError(
        absl::StrCat(text, " (is this machine's clock right?)"));
  } else if (absl::StartsWith(code, "1524")) {
    status = absl::FailedPreconditionError(
        absl::StrCat(text, " (check the strategy's BloFin API key, secret and passphrase)"));
  } else {
    status = absl::FailedPreconditionError(text);
  }
  return WithCode(std::move(status), code);
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

std::string BlofinCode(const absl::Status& status) {
  auto payload = status.GetPayload(kCodePayload);
  return payload ? std::string(*payload) : "";
}

absl::StatusOr<std::vector<Instrument>> FetchInstruments(HttpClient& http,
                                                         const std::string& base_url) {
  XCTL_ASSIGN_OR_RETURN(HttpResponse response,
                        http.Send("GET", base_url + "/api/v1/market/instruments",
                                  {"Accept: application/json"}));
  if (response.status != 200) {
    return absl::UnavailableError(
        absl::StrCat("BloFin GET /api/v1/market/instruments answered HTTP ", response.status));
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response.body.data(), response.body.size());
  if (doc.HasParseError() || !doc.IsObject() || Member(doc, "code") != "0" ||
      !doc.HasMember("data") || !doc["data"].IsArray()) {
    return absl::UnavailableError("BloFin GET /api/v1/market/instruments: malformed answer");
  }
  std::vector<Instrument> out;
  for (const auto& v : doc["data"].GetArray()) {
    XCTL_ASSIGN_OR_RETURN(Instrument instrument, ParseInstrument(v));
    out.push_back(std::move(instrument));
  }
  return out;
}

RestClient::RestClient(RestOptions options, BlofinCredentials credentials, const Clock* clock)
    : options_(std::move(options)),
      credentials_(std::move(credentials)),
      clock_(clock),
      http_(HttpClient::Options{.connect_timeout_ms = options_.connect_timeout_ms,
                                .timeout_ms = options_.timeout_ms}) {}

absl::StatusOr<rapidjson::Document> RestClient::Get(absl::string_view path, const Query& query) {
  std::string target(path);
  for (size_t i = 0; i < query.size(); ++i) {
    absl::StrAppend(&target, i == 0 ? "?" : "&", Encode(query[i].first), "=",
                    Encode(query[i].second));
  }
  return Send("GET", target, "");
}

absl::StatusOr<rapidjson::Document> RestClient::Post(absl::string_view path,
                                                     const std::string& body, bool trade) {
  if (trade) {
    absl::Status slot = AcquireTradeSlot();
    if (!slot.ok()) return slot;
  }
  return Send("POST", std::string(path), body);
}

absl::Status RestClient::AcquireTradeSlot() {
  const absl::Time give_up = absl::Now() + options_.max_rate_wait;
  absl::MutexLock lock(&rate_mu_);
  while (true) {
    const absl::Time now = absl::Now();
    while (!trade_times_.empty() && trade_times_.front() <= now - options_.trade_window) {
      trade_times_.pop_front();
    }
    if (static_cast<int>(trade_times_.size()) < options_.trade_requests_per_window) {
      trade_times_.push_back(now);
      return absl::OkStatus();
    }
    const absl::Time free_at = trade_times_.front() + options_.trade_window;
    if (free_at > give_up) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "BloFin allows ", options_.trade_requests_per_window, " order requests per ",
          absl::FormatDuration(options_.trade_window), "; next slot in ",
          absl::ToInt64Milliseconds(free_at - now), " ms"));
    }
    rate_mu_.Unlock();
    absl::SleepFor(free_at - now);
    rate_mu_.Lock();
  }
}

absl::Status RestClient::CheckBackoff() {
  absl::MutexLock lock(&rate_mu_);
  const absl::Time now = absl::Now();
  if (now >= blocked_until_) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "BloFin asked xctl to back off (", blocked_reason_, "); no request is sent for another ",
      absl::ToInt64Milliseconds(blocked_until_ - now), " ms"));
}

void RestClient::BackOff(absl::Duration d, std::string reason) {
  absl::MutexLock lock(&rate_mu_);
  blocked_until_ = std::max(blocked_until_, absl::Now() + d);
  blocked_reason_ = std::move(reason);
}

absl::StatusOr<rapidjson::Document> RestClient::Send(absl::string_view method,
                                                     const std::string& target,
                                                     const std::string& body) {
  if (absl::Status blocked = CheckBackoff(); !blocked.ok()) return blocked;
  const int64_t timestamp = clock_->NowMillis();
  std::vector<std::string> headers =
      AuthHeaders(credentials_, method, target, body, timestamp, NewNonce());
  headers.push_back("Content-Type: application/json");
  auto response = http_.Send(method, options_.base_url + target, headers, body);
  const std::string what = absl::StrCat(method, " ", target.substr(0, target.find('?')));
  if (!response.ok()) {
    return absl::UnavailableError(
        absl::StrCat("BloFin ", what, " failed: ", response.status().message()));
  }
  if (response->status == 429) {
    BackOff(absl::Seconds(std::max(response->retry_after_seconds, 1)), "HTTP 429");
    return WithCode(absl::ResourceExhaustedError(absl::StrCat(
                        "BloFin rate limit on ", what, "; retry after ",
                        std::max(response->retry_after_seconds, 1), " s")),
                    "429");
  }
  if (response->status == 403) {
    BackOff(options_.ban_backoff, "HTTP 403");
    return absl::PermissionDeniedError(absl::StrCat(
        "BloFin ", what, " answered HTTP 403 (a temporary ban, or this IP is not allowed for the "
        "API key); xctl sends nothing for ", absl::FormatDuration(options_.ban_backoff)));
  }
  if (response->status >= 500) {
    return absl::UnavailableError(
        absl::StrCat("BloFin ", what, " answered HTTP ", response->status));
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response->body.data(), response->body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::UnavailableError(absl::StrCat(
        "BloFin ", what, " answered HTTP ", response->status, " with a body that is not JSON",
        doc.HasParseError() ? absl::StrCat(" (", rapidjson::GetParseError_En(doc.GetParseError()),
                                           ")")
                            : ""));
  }
  const std::string code = Member(doc, "code");
  const std::string msg = Member(doc, "msg");
  if (code == "1" && doc.HasMember("data") && doc["data"].IsArray() && !doc["data"].Empty()) {
    // A per-order failure: the order's own code says why.
    const rapidjson::Value& first = doc["data"][0];
    return CodeStatus(Member(first, "code"), Member(first, "msg"));
  }
  if (code != "0") {
    if (code.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "BloFin ", what, " answered HTTP ", response->status, " without a code"));
    }
    if (code == "429") BackOff(absl::Seconds(1), "code 429");
    return CodeStatus(code, msg);
  }
  if (response->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("BloFin ", what, " answered HTTP ", response->status));
  }
  if (!doc.HasMember("data")) {
    return absl::UnavailableError(absl::StrCat("BloFin ", what, " answered without data"));
  }
  return doc;
}

}  // namespace xctl::blofin
