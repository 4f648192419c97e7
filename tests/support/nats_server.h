// Test support: a real nats-server (Debian's package) as a child process on
// a free loopback port (-a 127.0.0.1), which a test can stop and start again
// on the same port to take NATS away from running clients and give it back.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/subprocess.h"

namespace xctl::testing {

class NatsServer {
 public:
  // Starts nats-server (env XCTL_NATS_SERVER, else /usr/sbin/nats-server,
  // else nats-server on PATH) on a free port of 127.0.0.1 and waits until it
  // accepts connections. FAILED_PRECONDITION when the binary is missing,
  // UNAVAILABLE when it does not come up (its stderr is in the message).
  static absl::StatusOr<std::unique_ptr<NatsServer>> Start();
  ~NatsServer();  // stops the server
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  int port() const { return port_; }
  // nats://127.0.0.1:<port>
  std::string url() const;
  bool running() const { return process_ != nullptr; }

  // Stops the server (SIGTERM, then SIGKILL after 5 s); `kill` sends
  // SIGKILL at once, as a crash would.
  void Stop(bool kill = false);
  // Starts it again on the same port and waits until it accepts connections.
  [[nodiscard]] absl::Status Restart();

 private:
  NatsServer(std::string binary, std::string dir, int port);
  absl::Status Launch();

  const std::string binary_;
  const std::string dir_;
  const int port_;
  int launches_ = 0;
  std::unique_ptr<Subprocess> process_;
};

// A free TCP port on 127.0.0.1 (bound and released; free for a moment).
int FreeLoopbackPort();

// True once something accepts a TCP connection on 127.0.0.1:port.
bool WaitForPort(int port, absl::Duration timeout);

}  // namespace xctl::testing
