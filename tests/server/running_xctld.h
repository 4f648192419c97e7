// Test support for the end-to-end suites: the real xctld binary on a free
// loopback port, with its SQLite file in `dir` (reuse a dir to restart on the
// same database), and the xctl CLI run against it.
#pragma once

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "tests/support/subprocess.h"

namespace xctl::testing {

class RunningXctld {
 public:
  // `dir` empty: a fresh temp dir. `extra`: more xctld flags.
  explicit RunningXctld(std::vector<std::string> extra = {}, std::string dir = "",
                        std::vector<std::string> env = {}) {
    dir_ = dir.empty() ? MakeTempDir("xctld") : dir;
    std::remove((dir_ + "/port").c_str());
    std::vector<std::string> argv = {BinaryPath("server/xctld"), "--listen=127.0.0.1:0",
                                     "--db=sqlite:" + dir_ + "/xctl.db",
                                     "--port-file=" + dir_ + "/port",
                                     "--price-interval-ms=100"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Subprocess>(argv, dir_ + "/xctld-" + std::to_string(++starts_),
                                            env);
    auto port = WaitForFileLine(dir_ + "/port", absl::Seconds(30));
    if (port) {
      address_ = "127.0.0.1:" + *port;
      channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    }
  }
  bool ok() const { return channel_ != nullptr; }
  const std::string& dir() const { return dir_; }
  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  Subprocess& process() { return *process_; }

  // SIGTERM, then the exit code (nullopt on timeout).
  std::optional<int> Stop() {
    process_->Signal(SIGTERM);
    return process_->Wait(absl::Seconds(30));
  }

 private:
  static inline int starts_ = 0;
  std::string dir_;
  std::string address_;
  std::unique_ptr<Subprocess> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Writes dir/cert.pem and dir/key.pem (0600): a self-signed P-256
// certificate for localhost and 127.0.0.1, valid one day. False when openssl
// failed.
inline bool MakeSelfSignedCertificate(const std::string& dir) {
  Subprocess openssl({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost", "-addext",
                      "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1", "-keyout",
                      dir + "/key.pem", "-out", dir + "/cert.pem"},
                     dir + "/openssl");
  return openssl.Wait(absl::Seconds(30)) == 0;
}

}  // namespace xctl::testing
