// Scrape-time metrics of a running xctld, read from the modules' own state
// when /metrics is asked (server/metrics/metrics_server.h):
//
//   xctl_build_info{version,commit}              1
//   xctl_price_fetches_total                     counter: polls of the price source
//   xctl_price_fetch_errors_total                counter: of which failed
//   xctl_price_batches_published_total           counter: batches sent to subscribers
//   xctl_price_age_seconds{pair}                 gauge: since the pair's last update
//   xctl_price_stale{pair}                       gauge: 1 while the price is stale
//   xctl_price_subscribers                       gauge: bus subscribers (streams, strategies)
//   xctl_health_serving{service}                 gauge: 1 SERVING, 0 otherwise
//                                                (health_service.h; "" is "all")
#pragma once

#include <memory>

#include "prometheus/collectable.h"
#include "server/api/health_service.h"
#include "server/common/clock.h"
#include "server/price/price_module.h"

namespace xctl::api {

// `prices` and `health` must outlive the collector's use by the server.
std::shared_ptr<prometheus::Collectable> MakeServerCollector(const PriceModule& prices,
                                                             HealthService& health,
                                                             Clock& clock);

}  // namespace xctl::api
