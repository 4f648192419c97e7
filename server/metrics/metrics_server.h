// MetricsServer: xctld's Prometheus endpoint (GET /metrics, text format) on
// prometheus-cpp's pull exposer (Debian's prometheus-cpp-dev). It owns the
// registry that live counters and histograms are made in (RPCs by method and
// code, orders, ...) and keeps the scrape-time collectors, which read the
// modules' own counters only when scraped (price fetches and ages, health,
// streams). docs/operations.md, "Monitoring", lists every metric.
//
// Off unless `metrics.listen` / `--metrics-listen` is set; a host other
// than loopback needs `metrics.allow_remote` (the page names strategies and
// pairs). Port 0 picks a free port (port()).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace xctl::metrics {

class MetricsServer {
 public:
  // Listens on `listen` (HOST:PORT). UNAVAILABLE when the address cannot be
  // bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen);
  ~MetricsServer();

  // The bound port.
  int port() const { return port_; }
  // Where live metrics are created (prometheus::BuildCounter()...Register()).
  prometheus::Registry& registry() { return *registry_; }
  // Serves `collector` too, from now on; kept alive by the server.
  void Add(std::shared_ptr<prometheus::Collectable> collector);
  // Stops serving (waits for a scrape in progress): no collector is called
  // after it returns, while the registry stays usable. Idempotent; the
  // destructor does it too.
  void Stop();

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectors_;
  int port_ = 0;
};

// A collector whose families are computed by `collect` at every scrape.
class ScrapeCollector final : public prometheus::Collectable {
 public:
  using Collect_ = std::function<std::vector<prometheus::MetricFamily>()>;
  explicit ScrapeCollector(Collect_ collect) : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return collect_(); }

 private:
  Collect_ collect_;
};

// One sample of a family: its labels and value.
struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// A gauge or counter family built from samples, for ScrapeCollector.
prometheus::MetricFamily Gauges(std::string name, std::string help, std::vector<Sample> samples);
prometheus::MetricFamily Counters(std::string name, std::string help,
                                  std::vector<Sample> samples);

}  // namespace xctl::metrics
