// HealthService: the standard gRPC health protocol (grpc.health.v1.Health,
// Check and Watch) with one status per xctl service, computed from what the
// service depends on, so a load balancer, a supervisor or grpcurl learns the
// truth instead of "the process is up":
//
//   xctl.v1.PriceFeed        NOT_SERVING while a configured pair has no price
//                            yet or its price is stale (the source is down)
//   xctl.v1.ExchangeControl  NOT_SERVING while the database does not answer
//   xctl.v1.StrategyManager  NOT_SERVING while the database does not answer
//   "" (the whole server)    SERVING only when all three are
//   grpc.health.v1.Health    SERVING
//
// Any other name is NOT_FOUND on Check and SERVICE_UNKNOWN on Watch, as the
// protocol says (github.com/grpc/grpc/blob/master/doc/health-checking.md).
// After SetShuttingDown every status is NOT_SERVING and open Watch streams
// end. Probe results are kept for `probe_interval` (by the Clock), so a
// flood of Checks costs the database one query per interval. Status changes
// are logged (event=health_changed) with the probe's reason.
//
// It is generated from Debian's grpc-proto (proto/CMakeLists.txt,
// xctl_health_proto), unlike gRPC C++'s built-in health service, so server
// reflection describes it and `grpcurl ... grpc.health.v1.Health/Check` works.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/common/clock.h"

namespace xctl::api {

// What the services depend on. Each returns OK, or why not (for the log).
struct HealthProbes {
  std::function<absl::Status()> prices;
  std::function<absl::Status()> database;
};

struct HealthOptions {
  // How long a probe's result is reused.
  absl::Duration probe_interval = absl::Seconds(1);
  // How often an open Watch re-reads the status (real time).
  absl::Duration watch_poll = absl::Seconds(1);
  // Concurrent Watch streams (each holds a server thread); more are
  // RESOURCE_EXHAUSTED.
  int max_watchers = 16;
};

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService(HealthProbes probes, Clock& clock, HealthOptions options = {});

  // Every status NOT_SERVING from now on; open Watch streams get that and end.
  void SetShuttingDown();

  // The status of `service` ("" for the whole server); nullopt for a name
  // this server does not serve.
  std::optional<ServingStatus> StatusOf(absl::string_view service);

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(
      grpc::ServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
      grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  struct Probe {
    std::function<absl::Status()> run;
    std::optional<absl::Time> checked;
    absl::Status last = absl::UnavailableError("not checked yet");
    bool running = false;
  };
  // The probe's result, run again (outside the lock; callers meanwhile get
  // the previous result) when older than probe_interval.
  bool Healthy(absl::string_view name) ABSL_LOCKS_EXCLUDED(mu_);

  Clock& clock_;
  const HealthOptions options_;
  absl::Notification shutting_down_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Probe> probes_ ABSL_GUARDED_BY(mu_);
  int watchers_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace xctl::api
