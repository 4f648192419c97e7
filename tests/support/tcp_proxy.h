// Test support: a TCP proxy on a loopback port in front of another port, which
// a test can cut (every connection dropped, new ones refused) and resume on
// the same port, to take a database away from a running process and give it
// back.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace xctl::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // Drops every connection and stops accepting (connections are refused).
  void Cut();
  // Accepts again on the same port.
  void Resume();

 private:
  void Listen();
  void AcceptLoop(int listen_fd);
  void Pump(int client, int upstream);

  const int target_port_;
  int port_ = 0;
  std::mutex mu_;
  int listen_fd_ = -1;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
};

}  // namespace xctl::testing
