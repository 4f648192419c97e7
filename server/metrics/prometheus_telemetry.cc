#include "server/metrics/prometheus_telemetry.h"

#include <string>

namespace xctl::metrics {
namespace {

// 100 us .. 10 s: price fetches (a REST round trip) and store commits.
prometheus::Histogram::BucketBoundaries SlowBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

// 10 us .. 1 s: in-process delivery (docs/performance-load.md's targets are
// 1 ms and 5 ms).
prometheus::Histogram::BucketBoundaries FastBuckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
          0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,    0.25, 1};
}

prometheus::Family<prometheus::Histogram>& Histograms(prometheus::Registry& r, const char* name,
                                                      const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

}  // namespace

PrometheusTelemetry::PrometheusTelemetry()
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& fetches = Histograms(*registry_, "xctl_price_fetch_duration_seconds",
                             "time of one fetch of the price source");
  fetch_ok_ = &fetches.Add({{"result", "ok"}}, SlowBuckets());
  fetch_error_ = &fetches.Add({{"result", "error"}}, SlowBuckets());
  tick_to_strategy_ = &Histograms(*registry_, "xctl_tick_to_strategy_seconds",
                                  "from a tick's publication to a strategy's OnTick")
                           .Add({}, FastBuckets());
  auto& transactions =
      Histograms(*registry_, "xctl_store_transaction_duration_seconds",
                 "one write transaction of the store, BEGIN to COMMIT or rollback");
  tx_commit_ = &transactions.Add({{"result", "commit"}}, SlowBuckets());
  tx_rollback_ = &transactions.Add({{"result", "rollback"}}, SlowBuckets());
  orders_ = &prometheus::BuildCounter()
                 .Name("xctl_orders_total")
                 .Help("trading calls answered by the strategies' exchanges, by result")
                 .Register(*registry_);
  fills_ = &prometheus::BuildCounter()
                .Name("xctl_fills_total")
                .Help("fills recorded for the strategies")
                .Register(*registry_);
}

void PrometheusTelemetry::PriceFetch(absl::Duration took, bool ok) {
  (ok ? fetch_ok_ : fetch_error_)->Observe(absl::ToDoubleSeconds(took));
}

void PrometheusTelemetry::TickToStrategy(absl::Duration latency) {
  tick_to_strategy_->Observe(absl::ToDoubleSeconds(latency));
}

void PrometheusTelemetry::StoreTransaction(absl::Duration took, bool committed) {
  (committed ? tx_commit_ : tx_rollback_)->Observe(absl::ToDoubleSeconds(took));
}

void PrometheusTelemetry::Order(absl::string_view mode, absl::string_view call,
                                absl::string_view result) {
  orders_
      ->Add({{"mode", std::string(mode)},
            {"call", std::string(call)},
            {"result", std::string(result)}})
      .Increment();
}

void PrometheusTelemetry::Fills(absl::string_view mode, int count) {
  if (count > 0) fills_->Add({{"mode", std::string(mode)}}).Increment(count);
}

}  // namespace xctl::metrics
