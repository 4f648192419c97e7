// Test support: runs a program as a child process with its stdout and stderr
// sent to files, and waits for it with a deadline. Used by the tests that
// start real xctld, fake BloFin and gateway processes on loopback.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace xctl::testing {

class Subprocess {
 public:
  // Starts `argv[0]` (a path) with the given arguments. `output_prefix` names
  // the files that receive stdout (prefix.out) and stderr (prefix.err).
  Subprocess(std::vector<std::string> argv, std::string output_prefix,
             std::vector<std::string> extra_env = {});
  ~Subprocess();  // kills the child (SIGKILL) if still running

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // Sends a signal (SIGTERM, SIGINT, SIGKILL).
  void Signal(int sig);

  // Waits for exit up to `timeout`; returns the exit code (128+signal when
  // killed by a signal) or nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string output_prefix_;
};

// Waits until `path` exists and holds a whole line, then returns its content
// without the newline; nullopt after `timeout`.
std::optional<std::string> WaitForFileLine(const std::string& path,
                                           absl::Duration timeout);

// A fresh folder under $TEST_TMPDIR (else the system temp dir), removed
// with everything in it when the test process exits, unless
// XCTL_KEEP_TEST_FILES=1.
std::string MakeTempDir(const std::string& name);

// Reads a whole file ("" when missing).
std::string ReadFile(const std::string& path);

// Path of a file of the source tree / build tree (env XCTL_SOURCE_DIR /
// XCTL_BINARY_DIR, set by xctl_add_test).
std::string SourcePath(const std::string& relative);
std::string BinaryPath(const std::string& relative);

}  // namespace xctl::testing
