// GrpcListener: xctld's grpc::Server on one port, built with the connection
// limits of ConnectionsConfig (docs/security.md, "Connection floods"), and
// rebuilt on the same port when the listener watchdog finds that it no
// longer accepts connections. The services are owned by ServerApp and
// outlive every server built here: trading state lives in them and below
// (store, exchanges, strategies), never in the grpc::Server, so a rebuild
// loses nothing but the connections open at that moment.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/api/rpc_metrics.h"
#include "server/config/config.h"

namespace xctl::api {

class GrpcListener {
 public:
  struct Options {
    std::string listen;  // HOST:PORT; port 0 picks a free one, kept on Rebuild
    TlsConfig tls;       // both files or neither (see ServerCredentials)
    ConnectionsConfig connections;
    absl::Duration shutdown_grace = absl::Seconds(3);
    // Counts and times every call when set (not owned; rpc_metrics.h).
    RpcMetrics* rpc_metrics = nullptr;
  };

  // Builds and starts the server with `services` (not owned). Fails when the
  // TLS files are unusable or the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GrpcListener>> Start(
      Options options, std::vector<grpc::Service*> services);

  int port() const { return port_; }

  // Shuts the current server down (running calls get the shutdown grace,
  // then are cancelled; clients reconnect) and builds a new one on the same
  // port. Fails when the port cannot be bound again.
  absl::Status Rebuild();

  // One health call (grpc.health.v1.Health/Check) over a connection of its
  // own to this server's port, on loopback for a wildcard listen address:
  // true when any answer came within `timeout`, i.e. the listener accepted.
  bool Probe(absl::Duration timeout) const;

  // Stops accepting, waits up to the grace for running calls. Idempotent.
  void Shutdown();

 private:
  GrpcListener(Options options, std::vector<grpc::Service*> services,
               std::shared_ptr<grpc::ServerCredentials> credentials,
               std::shared_ptr<grpc::ChannelCredentials> probe_credentials);
  absl::Status BuildLocked(const std::string& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ShutdownLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const std::vector<grpc::Service*> services_;
  const std::shared_ptr<grpc::ServerCredentials> credentials_;
  const std::shared_ptr<grpc::ChannelCredentials> probe_credentials_;
  std::string probe_address_;
  int port_ = 0;
  absl::Mutex mu_;
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl::api
