// BlofinExchange::PostTrade: the gate in front of every order placement and
// cancel sent to BloFin in cluster mode (docs/cluster.md, "Fencing"): the
// request goes out only while this instance's tenure of the strategy's lease
// has at least the REST timeout left before its local deadline, so a request
// still in flight when the tenure ends cannot exist; a deposed owner is
// refused (LEASE_LOST) before anything is sent.
#include "server/exchange/blofin/blofin_exchange.h"

#include "server/common/log.h"

namespace xctl {

absl::StatusOr<rapidjson::Document> BlofinExchange::PostTrade(absl::string_view path,
                                                              const std::string& body) {
  if (deps_.tenure && deps_.tenure->check_time_left) {
    // The whole request, connect included, is bounded by timeout_ms
    // (HttpClient: CURLOPT_TIMEOUT_MS); RestClient never waits before sending.
    absl::Status left = deps_.tenure->check_time_left(absl::Milliseconds(config_.rest.timeout_ms));
    if (!left.ok()) {
      spdlog::warn("event=blofin_trade_refused strategy={} path={} error={}", config_.strategy_id,
                   path, LogQuote(left.message()));
      return left;
    }
  }
  return rest_.Post(path, body, /*trade=*/true);
}

}  // namespace xctl
