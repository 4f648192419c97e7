#include "server/api/server_metrics.h"

#include <string>
#include <vector>

#include "server/common/version.h"
#include "server/metrics/metrics_server.h"

namespace xctl::api {

using metrics::Counters;
using metrics::Gauges;
using metrics::Sample;

std::shared_ptr<prometheus::Collectable> MakeServerCollector(const PriceModule& prices,
                                                             HealthService& health,
                                                             Clock& clock) {
  return std::make_shared<metrics::ScrapeCollector>([&prices, &health, &clock] {
    std::vector<prometheus::MetricFamily> out;
    out.push_back(Gauges("xctl_build_info", "the version of this xctld",
                         {{{{"version", Version()}, {"commit", GitCommit()}}, 1}}));
    const PriceModule::Stats stats = prices.stats();
    out.push_back(Counters("xctl_price_fetches_total", "polls of the price source",
                           {{{}, static_cast<double>(stats.fetches)}}));
    out.push_back(Counters("xctl_price_fetch_errors_total", "polls of the price source that failed",
                           {{{}, static_cast<double>(stats.fetch_errors)}}));
    out.push_back(Counters("xctl_price_batches_published_total",
                           "batches of changed prices published to the subscribers",
                           {{{}, static_cast<double>(stats.published)}}));
    std::vector<Sample> ages, stale;
    const int64_t now = clock.NowMillis();
    for (const std::string& pair : prices.pairs()) {
      TickPtr tick = prices.Latest(pair);
      if (tick == nullptr) continue;
      ages.push_back({{{"pair", pair}}, (now - tick->receive_time_ms) / 1000.0});
      stale.push_back({{{"pair", pair}}, tick->stale ? 1.0 : 0.0});
    }
    out.push_back(Gauges("xctl_price_age_seconds", "seconds since the pair's price last changed",
                         std::move(ages)));
    out.push_back(Gauges("xctl_price_stale", "1 while the pair's price is stale", std::move(stale)));
    out.push_back(Gauges("xctl_price_subscribers", "subscribers of the price bus",
                         {{{}, static_cast<double>(prices.subscriber_count())}}));
    std::vector<Sample> serving;
    for (const char* service : {"", "xctl.v1.PriceFeed", "xctl.v1.ExchangeControl",
                                "xctl.v1.StrategyManager"}) {
      auto status = health.StatusOf(service);
      serving.push_back({{{"service", *service ? service : "all"}},
                         status == grpc::health::v1::HealthCheckResponse::SERVING ? 1.0 : 0.0});
    }
    out.push_back(Gauges("xctl_health_serving", "1 while the service is SERVING (health checks)",
                         std::move(serving)));
    return out;
  });
}

}  // namespace xctl::api
