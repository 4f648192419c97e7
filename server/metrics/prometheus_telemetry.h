// PrometheusTelemetry: the Telemetry (server/common/telemetry.h) that xctld's
// metrics endpoint serves, in a registry of its own so it can outlive the
// endpoint (the modules report into it until they are destroyed):
//
//   xctl_price_fetch_duration_seconds{result}           histogram  ok | error
//   xctl_tick_to_strategy_seconds                       histogram
//   xctl_store_transaction_duration_seconds{result}     histogram  commit | rollback
//   xctl_orders_total{mode,call,result}                 counter    paper | live; place | close;
//                                                                  ok or the error's reason
//   xctl_fills_total{mode}                              counter
//
// docs/operations.md, "Monitoring". Thread-safe (prometheus-cpp's metrics are).
#pragma once

#include <memory>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/common/telemetry.h"

namespace xctl::metrics {

class PrometheusTelemetry final : public Telemetry {
 public:
  PrometheusTelemetry();

  // What MetricsServer::Add serves.
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  void PriceFetch(absl::Duration took, bool ok) override;
  void TickToStrategy(absl::Duration latency) override;
  void StoreTransaction(absl::Duration took, bool committed) override;
  void Order(absl::string_view mode, absl::string_view call, absl::string_view result) override;
  void Fills(absl::string_view mode, int count) override;

 private:
  // Made once in the constructor; the registry owns them.
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram* fetch_ok_ = nullptr;
  prometheus::Histogram* fetch_error_ = nullptr;
  prometheus::Histogram* tick_to_strategy_ = nullptr;
  prometheus::Histogram* tx_commit_ = nullptr;
  prometheus::Histogram* tx_rollback_ = nullptr;
  prometheus::Family<prometheus::Counter>* orders_ = nullptr;
  prometheus::Family<prometheus::Counter>* fills_ = nullptr;
};

}  // namespace xctl::metrics
