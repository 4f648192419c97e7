// ServerApp: one running xctld, xctld's composition root. Opens the store,
// builds the price module, exchange control and the strategy manager, with
// --cluster the ClusterMode that hooks into them (server/cluster/
// cluster_mode.h), starts them, registers the gRPC services of server/api/
// (PriceFeed, ExchangeControl, StrategyManager, health, reflection) and
// serves them; Shutdown() stops it all in order. main.cc owns flags and
// signals; tests run the xctld binary.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "server/config/config.h"

namespace xctl::app {

// xctld's exit code when the gRPC listener stopped accepting and could not be
// rebuilt (docs/security.md, "Connection floods"): trading was shut down
// cleanly; a supervisor (systemd Restart=on-failure) starts it again.
inline constexpr int kExitListenerLost = 3;

class ServerApp {
 public:
  // Starts everything. Fails with a message a person can act on when the
  // database cannot be opened or migrated, the price source cannot be built
  // or the listen address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServerApp>> Start(
      const ServerConfig& config);

  // The bound gRPC port (useful with --listen HOST:0).
  virtual int port() const = 0;

  // What xctld should exit with after Shutdown: 0, or kExitListenerLost when
  // the listener watchdog could not rebuild a listener that stopped
  // accepting (it then sent this process SIGTERM).
  virtual int exit_code() const = 0;

  // Marks health NOT_SERVING, finishes open streams with UNAVAILABLE, stops
  // accepting calls and waits up to the grace period for running ones, stops
  // the price module, closes the store. Idempotent.
  virtual void Shutdown() = 0;

  virtual ~ServerApp() = default;
};

}  // namespace xctl::app
