#include "server/api/server_metrics.h"

#include <string>
#include <vector>

#include "server/common/log.h"
#include "server/common/request_budget.h"
#include "server/common/version.h"
#include "server/metrics/metrics_server.h"

namespace xctl::api {
namespace {

using metrics::Counters;
using metrics::Gauges;
using metrics::Sample;

double Num(uint64_t v) { return static_cast<double>(v); }

void AddPrices(const PriceModule& prices, Clock& clock,
               std::vector<prometheus::MetricFamily>& out) {
  const PriceModule::Stats stats = prices.stats();
  out.push_back(Counters("xctl_price_fetches_total", "polls of the price source",
                         {{{}, Num(stats.fetches)}}));
  out.push_back(Counters("xctl_price_fetch_errors_total", "polls of the price source that failed",
                         {{{}, Num(stats.fetch_errors)}}));
  out.push_back(Counters("xctl_price_batches_published_total",
                         "batches of changed prices published to the subscribers",
                         {{{}, Num(stats.published)}}));
  out.push_back(Counters("xctl_price_ticks_conflated_total",
                         "ticks replaced by newer ones before a subscriber took them",
                         {{{}, Num(prices.conflated_total())}}));
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
}

void AddHealth(HealthService& health, std::vector<prometheus::MetricFamily>& out) {
  std::vector<Sample> serving;
  for (const char* service :
       {"", "xctl.v1.PriceFeed", "xctl.v1.ExchangeControl", "xctl.v1.StrategyManager"}) {
    auto status = health.StatusOf(service);
    serving.push_back({{{"service", *service ? service : "all"}},
                       status == grpc::health::v1::HealthCheckResponse::SERVING ? 1.0 : 0.0});
  }
  out.push_back(Gauges("xctl_health_serving", "1 while the service is SERVING (health checks)",
                       std::move(serving)));
}

// The request budgets shared per BloFin host (request_budget.h).
void AddBudgets(std::vector<prometheus::MetricFamily>& out) {
  std::vector<Sample> requests, remaining, backing_off;
  using Kind = RequestBudget::Kind;
  for (const auto& budget : RequestBudget::Shared()) {
    const RequestBudget::Counts counts = budget->counts();
    const std::string host = RedactUrl(budget->host());  // a password in the URL stays out
    for (Kind kind : {Kind::kPublic, Kind::kPrivate, Kind::kTrade, Kind::kSync}) {
      const int k = static_cast<int>(kind);
      const std::string name(RequestBudget::KindName(kind));
      requests.push_back({{{"host", host}, {"kind", name}, {"result", "sent"}}, Num(counts.sent[k])});
      requests.push_back(
          {{{"host", host}, {"kind", name}, {"result", "refused"}}, Num(counts.refused[k])});
    }
    remaining.push_back({{{"host", host}}, Num(budget->RemainingThisMinute())});
    backing_off.push_back({{{"host", host}}, budget->BackingOff() ? 1.0 : 0.0});
  }
  out.push_back(Counters("xctl_blofin_requests_total",
                         "requests to BloFin through the shared budget: sent or refused",
                         std::move(requests)));
  out.push_back(Gauges("xctl_blofin_requests_remaining",
                       "requests the budget allows in the current minute", std::move(remaining)));
  out.push_back(Gauges("xctl_blofin_backing_off", "1 while BloFin asked xctl to back off",
                       std::move(backing_off)));
}

void AddClusterPrices(const cluster::ClusterPrices& cluster,
                      std::vector<prometheus::MetricFamily>& out) {
  out.push_back(Gauges("xctl_cluster_nats_connected", "1 while connected to NATS",
                       {{{}, cluster.nats_connected() ? 1.0 : 0.0}}));
  const std::optional<int64_t> epoch = cluster.LeaderEpoch();
  out.push_back(Gauges("xctl_cluster_price_leader", "1 while this instance is the price leader",
                       {{{}, epoch ? 1.0 : 0.0}}));
  out.push_back(Gauges("xctl_cluster_price_leader_epoch",
                       "the price lease's epoch while this instance holds it",
                       {{{}, epoch ? static_cast<double>(*epoch) : 0.0}}));
  const cluster::ClusterPrices::Stats s = cluster.stats();
  out.push_back(Counters("xctl_cluster_price_batches_total",
                         "price batches over NATS: published as leader, applied, dropped",
                         {{{{"event", "published"}}, Num(s.batches_published)},
                          {{{"event", "publish_error"}}, Num(s.publish_errors)},
                          {{{"event", "applied"}}, Num(s.batches_applied)},
                          {{{"event", "dropped_stale_epoch"}}, Num(s.batches_stale_epoch)},
                          {{{"event", "dropped_duplicate"}}, Num(s.batches_duplicate)},
                          {{{"event", "dropped_too_old"}}, Num(s.batches_too_old)},
                          {{{"event", "dropped_invalid"}}, Num(s.batches_invalid)},
                          {{{"event", "gap"}}, Num(s.gaps)}}));
}

void AddShards(const cluster::StrategyShards& shards,
               std::vector<prometheus::MetricFamily>& out) {
  const cluster::StrategyShards::Stats s = shards.stats();
  out.push_back(Gauges("xctl_cluster_strategies_owned", "strategies whose lease this instance holds",
                       {{{}, static_cast<double>(shards.Owned().size())}}));
  out.push_back(Gauges("xctl_cluster_members", "live instances, as of the last placement round",
                       {{{}, static_cast<double>(s.live_members)}}));
  out.push_back(Counters("xctl_cluster_strategy_leases_total",
                         "strategy leases gained, lost and given back to balance",
                         {{{{"event", "gained"}}, Num(s.gained)},
                          {{{"event", "lost"}}, Num(s.lost)},
                          {{{"event", "given_back"}}, Num(s.given_back)}}));
}

void AddForwarder(const Forwarder& forwarder, std::vector<prometheus::MetricFamily>& out) {
  const Forwarder::Stats s = forwarder.stats();
  out.push_back(Counters("xctl_cluster_forwarded_calls_total",
                         "calls for strategies other instances run, sent to their owner "
                         "(docs/cluster.md, Forwarding)",
                         {{{{"event", "forwarded"}}, Num(s.forwarded)},
                          {{{"event", "retried"}}, Num(s.retried)},
                          {{{"event", "loop_refused"}}, Num(s.loops_refused)},
                          {{{"event", "unreachable"}}, Num(s.unreachable)}}));
}

}  // namespace

std::shared_ptr<prometheus::Collectable> MakeServerCollector(ServerMetricSources sources) {
  return std::make_shared<metrics::ScrapeCollector>([sources] {
    std::vector<prometheus::MetricFamily> out;
    out.push_back(Gauges("xctl_build_info", "the version of this xctld",
                         {{{{"version", Version()}, {"commit", GitCommit()}}, 1}}));
    AddPrices(*sources.prices, *sources.clock, out);
    AddHealth(*sources.health, out);
    AddBudgets(out);
    if (sources.cluster_prices != nullptr) AddClusterPrices(*sources.cluster_prices, out);
    if (sources.strategy_shards != nullptr) AddShards(*sources.strategy_shards, out);
    if (sources.forwarder != nullptr) AddForwarder(*sources.forwarder, out);
    return out;
  });
}

}  // namespace xctl::api
