#include "tests/support/nats_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace xctl::testing {
namespace {

std::string FindNatsServer() {
  if (const char* env = std::getenv("XCTL_NATS_SERVER"); env && *env) return env;
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool WaitForPort(int port, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (CanConnect(port)) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

absl::StatusOr<std::unique_ptr<NatsServer>> NatsServer::Start() {
  std::string binary = FindNatsServer();
  if (binary.empty()) {
    return absl::FailedPreconditionError(
        "nats-server not found (scripts/setup installs Debian's nats-server; or set "
        "XCTL_NATS_SERVER)");
  }
  int port = FreeLoopbackPort();
  if (port == 0) return absl::UnavailableError("no free loopback port");
  auto server = std::unique_ptr<NatsServer>(new NatsServer(binary, MakeTempDir("nats"), port));
  if (absl::Status s = server->Launch(); !s.ok()) return s;
  return server;
}

NatsServer::NatsServer(std::string binary, std::string dir, int port)
    : binary_(std::move(binary)), dir_(std::move(dir)), port_(port) {}

NatsServer::~NatsServer() { Stop(/*kill=*/true); }

std::string NatsServer::url() const { return absl::StrCat("nats://127.0.0.1:", port_); }

absl::Status NatsServer::Launch() {
  std::string prefix = absl::StrCat(dir_, "/nats-server-", launches_++);
  process_ = std::make_unique<Subprocess>(
      std::vector<std::string>{binary_, "-a", "127.0.0.1", "-p", absl::StrCat(port_)}, prefix);
  if (!process_->started()) {
    process_.reset();
    return absl::UnavailableError(absl::StrCat("cannot start ", binary_));
  }
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (CanConnect(port_)) return absl::OkStatus();
    if (process_->Wait(absl::Milliseconds(20)).has_value()) break;  // exited
  }
  std::string err = process_->Stderr();
  process_.reset();
  return absl::UnavailableError(
      absl::StrCat("nats-server did not accept connections on 127.0.0.1:", port_, ": ", err));
}

void NatsServer::Stop(bool kill) {
  if (!process_) return;
  process_->Signal(kill ? SIGKILL : SIGTERM);
  if (!process_->Wait(absl::Seconds(5)).has_value()) {
    process_->Signal(SIGKILL);
    (void)process_->Wait(absl::Seconds(5));
  }
  process_.reset();
}

absl::Status NatsServer::Restart() {
  Stop();
  return Launch();
}

}  // namespace xctl::testing
