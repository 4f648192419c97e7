// RestClient: BloFin's REST API v1 for one API key: signed GET/POST over a
// kept-alive libcurl connection, the {"code","msg","data"} envelope checked,
// BloFin's error codes turned into absl::Status, and a client-side limit on
// trading requests so xctl stays under BloFin's own (30 per 10 s).
//
// Status mapping (the BloFin code is also attached as payload "blofin_code",
// read it with BlofinCode):
//   transport failure, timeout, HTTP 5xx, non-JSON answer   UNAVAILABLE
//   HTTP 429 / code 429, or the client-side limit           RESOURCE_EXHAUSTED
//   152001, 152002, 102014, 102015 (bad parameter)          INVALID_ARGUMENT
//   102050 (duplicate clientOrderId)                        ALREADY_EXISTS
//   1524xx (key, passphrase, timestamp, nonce, signature)   FAILED_PRECONDITION
//   103003, 102036, 102041 and other codes                  FAILED_PRECONDITION
//   HTTP 403 (temporary ban)                                PERMISSION_DENIED
//   any request during a back-off after 429 or 403          RESOURCE_EXHAUSTED
// Messages start with "BloFin" and carry BloFin's code and text; secrets
// never appear in them.
#pragma once

#include <deque>
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
#include "server/exchange/credentials.h"
#include "server/exchange/types.h"

namespace xctl::blofin {

inline constexpr absl::string_view kProductionUrl = "https://openapi.blofin.com";
inline constexpr absl::string_view kDemoUrl = "https://demo-trading-openapi.blofin.com";

struct RestOptions {
  std::string base_url = std::string(kProductionUrl);
  int connect_timeout_ms = 3000;
  int timeout_ms = 5000;
  // Client-side limit of order and cancel requests per window.
  int trade_requests_per_window = 30;
  absl::Duration trade_window = absl::Seconds(10);
  // How long a trading request may wait for a free slot before
  // RESOURCE_EXHAUSTED.
  absl::Duration max_rate_wait = absl::Seconds(2);
  // After HTTP 403 (BloFin's temporary ban) no request is sent for this long;
  // after HTTP 429, for the Retry-After time (at least 1 s).
  absl::Duration ban_backoff = absl::Seconds(60);
};

using Query = std::vector<std::pair<std::string, std::string>>;

// The BloFin code attached to a status by RestClient, or "".
std::string BlofinCode(const absl::Status& status);

// The contract specifications of every instrument BloFin lists (public GET
// /api/v1/market/instruments, unsigned), for the InstrumentCatalog.
[[nodiscard]] absl::StatusOr<std::vector<Instrument>> FetchInstruments(
    HttpClient& http, const std::string& base_url);

class RestClient {
 public:
  // `clock` supplies ACCESS-TIMESTAMP.
  RestClient(RestOptions options, BlofinCredentials credentials, const Clock* clock);

  // Signed GET of `path` with `query` (sent and signed in this order). The
  // whole envelope is returned; its "data" member is present.
  [[nodiscard]] absl::StatusOr<rapidjson::Document> Get(absl::string_view path,
                                                        const Query& query = {});
  // Signed POST of `body` (a JSON object) to `path`. `trade` requests count
  // against the trading rate limit.
  [[nodiscard]] absl::StatusOr<rapidjson::Document> Post(absl::string_view path,
                                                         const std::string& body, bool trade);

  const RestOptions& options() const { return options_; }

 private:
  absl::StatusOr<rapidjson::Document> Send(absl::string_view method, const std::string& target,
                                           const std::string& body);
  absl::Status AcquireTradeSlot();
  // RESOURCE_EXHAUSTED while backing off.
  absl::Status CheckBackoff();
  void BackOff(absl::Duration d, std::string reason);

  const RestOptions options_;
  const BlofinCredentials credentials_;
  const Clock* clock_;
  HttpClient http_;
  absl::Mutex rate_mu_;
  std::deque<absl::Time> trade_times_ ABSL_GUARDED_BY(rate_mu_);
  // No request before this time (BloFin asked to back off).
  absl::Time blocked_until_ ABSL_GUARDED_BY(rate_mu_) = absl::InfinitePast();
  std::string blocked_reason_ ABSL_GUARDED_BY(rate_mu_);
};

}  // namespace xctl::blofin
