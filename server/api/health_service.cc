#include "server/api/health_service.h"

#include <array>
#include <utility>

#include "server/common/log.h"

namespace xctl::api {
namespace {

using grpc::health::v1::HealthCheckResponse;

constexpr char kPrices[] = "prices";
constexpr char kDatabase[] = "database";

// Which probe each served name depends on; the whole server ("") on all.
struct Served {
  absl::string_view name;
  std::array<absl::string_view, 2> probes;
};
constexpr std::array<Served, 5> kServed = {{
    {"", {kPrices, kDatabase}},
    {"xctl.v1.PriceFeed", {kPrices, {}}},
    {"xctl.v1.ExchangeControl", {kDatabase, {}}},
    {"xctl.v1.StrategyManager", {kDatabase, {}}},
    {"grpc.health.v1.Health", {}},
}};

const Served* FindServed(absl::string_view service) {
  for (const Served& s : kServed) {
    if (s.name == service) return &s;
  }
  return nullptr;
}

}  // namespace

HealthService::HealthService(HealthProbes probes, Clock& clock, HealthOptions options)
    : clock_(clock), options_(options) {
  probes_[kPrices].run = std::move(probes.prices);
  probes_[kDatabase].run = std::move(probes.database);
}

void HealthService::SetShuttingDown() {
  if (!shutting_down_.HasBeenNotified()) shutting_down_.Notify();
}

bool HealthService::Healthy(absl::string_view name) {
  std::function<absl::Status()> run;
  {
    absl::MutexLock lock(&mu_);
    Probe& probe = probes_.at(name);
    const bool fresh =
        probe.checked && clock_.Now() - *probe.checked < options_.probe_interval;
    if (fresh || probe.running || !probe.run) return probe.last.ok() || !probe.run;
    probe.running = true;
    run = probe.run;
  }
  absl::Status now = run();
  absl::MutexLock lock(&mu_);
  Probe& probe = probes_.at(name);
  if (now.ok() != probe.last.ok() || !probe.checked) {
    if (now.ok()) {
      spdlog::info("event=health_changed probe={} status=ok", name);
    } else {
      spdlog::warn("event=health_changed probe={} status=failing reason={}", name,
                   LogQuote(now.message()));
    }
  }
  probe.last = std::move(now);
  probe.checked = clock_.Now();
  probe.running = false;
  return probe.last.ok();
}

std::optional<HealthService::ServingStatus> HealthService::StatusOf(absl::string_view service) {
  const Served* served = FindServed(service);
  if (served == nullptr) return std::nullopt;
  if (shutting_down_.HasBeenNotified()) return HealthCheckResponse::NOT_SERVING;
  bool healthy = true;
  for (absl::string_view probe : served->probes) {
    if (!probe.empty() && !Healthy(probe)) healthy = false;
  }
  return healthy ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Check(grpc::ServerContext*,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  std::optional<ServingStatus> status = StatusOf(request->service());
  if (!status) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "unknown service \"" + request->service() +
                            "\": use \"\" (the whole server), xctl.v1.PriceFeed, "
                            "xctl.v1.ExchangeControl or xctl.v1.StrategyManager");
  }
  response->set_status(*status);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  {
    absl::MutexLock lock(&mu_);
    if (watchers_ >= options_.max_watchers) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "too many health watchers: use Check, or retry later");
    }
    ++watchers_;
  }
  std::optional<ServingStatus> sent;
  while (!context->IsCancelled()) {
    const bool last = shutting_down_.HasBeenNotified();
    std::optional<ServingStatus> status = StatusOf(request->service());
    const ServingStatus now = status.value_or(HealthCheckResponse::SERVICE_UNKNOWN);
    if (now != sent) {
      HealthCheckResponse response;
      response.set_status(now);
      if (!writer->Write(response)) break;
      sent = now;
    }
    if (last) break;
    shutting_down_.WaitForNotificationWithTimeout(options_.watch_poll);
  }
  absl::MutexLock lock(&mu_);
  --watchers_;
  return grpc::Status::OK;
}

}  // namespace xctl::api
