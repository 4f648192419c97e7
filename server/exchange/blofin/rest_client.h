// RestClient: BloFin's REST API v1 for one API key: signed GET/POST over a
// kept-alive libcurl connection, the {"code","msg","data"} envelope checked,
// BloFin's error codes (errors.md, the only source of codes here) turned into
// absl::Status, and every request counted against the host's shared
// RequestBudget (index.md, "Rate Limits"), so all strategies and the price
// source of one xctld stay inside BloFin's per-IP and per-user limits together.
//
// Status mapping (the BloFin code is attached as payload "blofin_code", read
// it with BlofinCode; every message starts with "BloFin" and carries BloFin's
// code and text; secrets never appear in them):
//   transport failure, timeout, HTTP 5xx, non-JSON        UNAVAILABLE
//   500, 103013 (BloFin's internal errors)                UNAVAILABLE
//   HTTP 429 / code 429, or the shared budget             RESOURCE_EXHAUSTED
//   HTTP 403 (index.md "Risk Control Restrictions")       RESOURCE_EXHAUSTED, 5 min back-off
//   400, 404, 405, 406, 152001-152015, 102014, 102015,    INVALID_ARGUMENT
//     542, 80001, 102037-102055, 102064, 102065
//   102002, 150003 (duplicate client order id)            ALREADY_EXISTS
//   401, 152401-152410 (key, IP, timestamp, nonce,        FAILED_PRECONDITION, with what to
//     passphrase, signature)                                check (credentials or clock)
//   103003, 150004 (margin), 102022, 102005, 102068,      FAILED_PRECONDITION
//     102089, 110006, 110019, 1000, and any other code
// Use IsUncertain() to tell whether a failed order request may still have
// reached BloFin (then the order must be looked up before it is sent again):
// no answer, BloFin's internal errors, 152407 (a repeated nonce: libcurl
// resent the request after a dropped connection, so the first copy may have
// been executed) and codes this client does not know.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "server/common/clock.h"
#include "server/common/http_client.h"
#include "server/common/request_budget.h"
#include "server/exchange/credentials.h"
#include "server/model/position_tiers.h"
#include "server/model/types.h"

namespace xctl::blofin {

inline constexpr absl::string_view kProductionUrl = "https://openapi.blofin.com";
inline constexpr absl::string_view kDemoUrl = "https://demo-trading-openapi.blofin.com";

struct RestOptions {
  std::string base_url = std::string(kProductionUrl);
  // The private WebSocket of the same BloFin (BlofinExchange's private
  // connection, private_ws.h): wss://openapi.blofin.com/ws/private; empty:
  // none, resting orders are polled.
  std::string ws_private_url;
  // Its keep-alive (PrivateWsOptions::ping_after_ms), set by the factory.
  int ws_ping_after_ms = 20'000;
  int connect_timeout_ms = 3000;
  int timeout_ms = 5000;
  // The budget shared by every client of the same host (request_budget.h).
  RequestLimits limits;
  // Set: this budget instead of the host's shared one (tests).
  std::shared_ptr<RequestBudget> budget;
  // After HTTP 403 (index.md "Risk Control Restrictions": "a five-minute
  // temporary ban") no request of any caller is sent to the host for this
  // long; after HTTP 429, for the Retry-After time (at least 1 s).
  absl::Duration ban_backoff = absl::Minutes(5);
};

using Query = std::vector<std::pair<std::string, std::string>>;

// The BloFin code attached to a status by RestClient, or "".
std::string BlofinCode(const absl::Status& status);

// The status of BloFin error `code` with BloFin's `msg` (OK for "0"), mapped
// as in the table above, the code attached.
absl::Status CodeStatus(absl::string_view code, absl::string_view msg);

// True when a failed order request may have been executed by BloFin anyway:
// no answer (transport failure, timeout, 5xx, malformed body), BloFin's own
// internal errors, or a code this client does not know. A definite refusal
// (parameters, margin, credentials, rate limit, duplicate id) is not uncertain.
bool IsUncertain(const absl::Status& status);

// The per-request results inside `data`: data itself when it is an object
// (index.md "Cancel Order", "GET Order Detail" answer one object), its
// elements when it is an array ("Place Order" answers a list). Null and
// non-object elements are skipped.
std::vector<const rapidjson::Value*> Items(const rapidjson::Value& data);

// The status of one per-request result, from its own "code" and "msg":
// BloFin can refuse an order inside an envelope whose code is "0" (recorded
// by ccxt: {"code":"0","data":[{"code":"103003","msg":"Order failed.
// Insufficient USDT margin in account"}]}), so the item is always read.
absl::Status ItemStatus(const rapidjson::Value& item);

// The contract specifications of every instrument BloFin lists (public GET
// /api/v1/market/instruments, unsigned), for the InstrumentCatalog.
[[nodiscard]] absl::StatusOr<std::vector<Instrument>> FetchInstruments(
    HttpClient& http, const std::string& base_url);

// index.md, "GET Position Tiers" (public; instId and marginMode required):
// the tiers of `symbol` in `margin_mode` ("cross" / "isolated").
[[nodiscard]] absl::StatusOr<std::vector<MarginTier>> FetchPositionTiers(
    HttpClient& http, const std::string& base_url, absl::string_view symbol,
    absl::string_view margin_mode);

class RestClient {
 public:
  // `clock` supplies ACCESS-TIMESTAMP.
  RestClient(RestOptions options, BlofinCredentials credentials, const Clock* clock);

  // Signed GET of `path` with `query` (sent and signed in this order; GET
  // parameters go in the query string, index.md "General Information on
  // Endpoints"). The whole envelope is returned; its "data" member is present.
  // `background` requests (order refreshes) are refused first when the
  // host's budget runs low.
  [[nodiscard]] absl::StatusOr<rapidjson::Document> Get(absl::string_view path,
                                                        const Query& query = {},
                                                        bool background = false);
  // Signed POST of `body` (a JSON object) to `path`. `trade` requests count
  // against the account's trading limit as well.
  [[nodiscard]] absl::StatusOr<rapidjson::Document> Post(absl::string_view path,
                                                         const std::string& body, bool trade);

  // Every item of a documented paged list (index.md: "after" returns records
  // earlier than the given id, "limit" at most 100, newest first): asks for
  // pages of 100 with after = the last item's `cursor` member until a page
  // is short, at most `max_pages` pages (then FAILED_PRECONDITION: more than
  // xctl will follow).
  [[nodiscard]] absl::StatusOr<std::vector<rapidjson::Document>> GetPages(
      absl::string_view path, Query query, const char* cursor, int max_pages = 20);

  RequestBudget& budget() { return *budget_; }

  const RestOptions& options() const { return options_; }

 private:
  absl::StatusOr<rapidjson::Document> Send(absl::string_view method, const std::string& target,
                                           const std::string& body, RequestBudget::Kind kind);

  const RestOptions options_;
  const BlofinCredentials credentials_;
  const Clock* clock_;
  HttpClient http_;
  std::shared_ptr<RequestBudget> budget_;
};

}  // namespace xctl::blofin
