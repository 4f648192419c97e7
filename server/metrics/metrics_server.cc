#include "server/metrics/metrics_server.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "prometheus/client_metric.h"
#include "prometheus/exposer.h"
#include "server/common/log.h"

namespace xctl::metrics {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  try {
    // civetweb's option list: bind exactly this address, two threads.
    server->exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", listen, "num_threads", "2"});
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "metrics: cannot listen on ", listen, ": the address is in use or not available (",
        e.what(), ")"));
  }
  std::vector<int> ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? 0 : ports.front();
  server->registry_ = std::make_shared<prometheus::Registry>();
  server->exposer_->RegisterCollectable(server->registry_);
  spdlog::info("event=metrics_serving listen={} port={}", listen, server->port_);
  return server;
}

MetricsServer::~MetricsServer() {
  exposer_.reset();  // stops serving before the collectors go
}

void MetricsServer::Stop() { exposer_.reset(); }

void MetricsServer::Add(std::shared_ptr<prometheus::Collectable> collector) {
  if (exposer_) exposer_->RegisterCollectable(collector);
  collectors_.push_back(std::move(collector));
}

namespace {

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type,
                                std::vector<Sample> samples) {
  prometheus::MetricFamily family{std::move(name), std::move(help), type, {}};
  for (Sample& s : samples) {
    prometheus::ClientMetric metric;
    for (auto& [k, v] : s.labels) metric.label.push_back({std::move(k), std::move(v)});
    if (type == prometheus::MetricType::Counter) {
      metric.counter.value = s.value;
    } else {
      metric.gauge.value = s.value;
    }
    family.metric.push_back(std::move(metric));
  }
  return family;
}

}  // namespace

prometheus::MetricFamily Gauges(std::string name, std::string help, std::vector<Sample> samples) {
  return Family(std::move(name), std::move(help), prometheus::MetricType::Gauge,
                std::move(samples));
}

prometheus::MetricFamily Counters(std::string name, std::string help,
                                  std::vector<Sample> samples) {
  return Family(std::move(name), std::move(help), prometheus::MetricType::Counter,
                std::move(samples));
}

}  // namespace xctl::metrics
