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
//   xctl_price_ticks_conflated_total             counter: ticks replaced before a
//                                                subscriber took them
//   xctl_health_serving{service}                 gauge: 1 SERVING, 0 otherwise
//                                                (health_service.h; "" is "all")
//   xctl_blofin_requests_total{host,kind,result} counter: requests the shared
//                                                budget let through (sent) or refused
//   xctl_blofin_requests_remaining{host}         gauge: requests left this minute
//   xctl_blofin_backing_off{host}                gauge: 1 while BloFin asked to back off
//  cluster mode only (docs/cluster.md):
//   xctl_cluster_nats_connected                  gauge
//   xctl_cluster_price_leader                    gauge: 1 while this instance fetches
//   xctl_cluster_price_leader_epoch              gauge: the lease epoch while leader
//   xctl_cluster_price_batches_total{event}      counter: published, applied, dropped_*
//   xctl_cluster_strategies_owned                gauge: strategies run here
//   xctl_cluster_members                         gauge: live instances, last round
//   xctl_cluster_strategy_leases_total{event}    counter: gained, lost, given_back
//   xctl_cluster_forwarded_calls_total{event}    counter: forwarded, retried,
//                                                loop_refused, unreachable
#pragma once

#include <memory>

#include "prometheus/collectable.h"
#include "server/api/forwarder.h"
#include "server/api/health_service.h"
#include "server/cluster/cluster_prices.h"
#include "server/cluster/strategy_shards.h"
#include "server/common/clock.h"
#include "server/price/price_module.h"

namespace xctl::api {

// What the collector reads at every scrape; each must outlive the
// collector's use by the metrics server (MetricsServer::Stop).
struct ServerMetricSources {
  const PriceModule* prices = nullptr;
  HealthService* health = nullptr;
  Clock* clock = nullptr;
  // Cluster mode only; null otherwise.
  const cluster::ClusterPrices* cluster_prices = nullptr;
  const cluster::StrategyShards* strategy_shards = nullptr;
  const Forwarder* forwarder = nullptr;
};

std::shared_ptr<prometheus::Collectable> MakeServerCollector(ServerMetricSources sources);

}  // namespace xctl::api
