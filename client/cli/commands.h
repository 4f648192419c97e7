// The xctl CLI's commands (docs/cli.md). Each talks to xctld over gRPC and
// prints a table, or with --json one JSON object per response (one per line
// for --watch streams). Errors go to stderr as "xctl: CODE: message".
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"

namespace xctl::cli {

struct Context {
  std::shared_ptr<grpc::Channel> channel;
  bool json = false;
  bool watch = false;
  absl::Duration timeout = absl::Seconds(10);
  // Sent as "authorization: Bearer <token>" when not empty ($XCTL_TOKEN or
  // --token-stdin, never a flag).
  std::string token;
  // The signal secret of `signal` and `strategies create` ($XCTL_SIGNAL_SECRET
  // or --secret-stdin, never a flag).
  std::string signal_secret;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
};

// Exit codes.
inline constexpr int kOk = 0;
inline constexpr int kServerError = 1;  // the server refused or failed
inline constexpr int kUsage = 2;        // bad command line

// Runs `words` (command and its positional arguments; flags are read from
// the ABSL flags defined in commands.cc).
int Run(const std::vector<std::string>& words, Context& ctx);

// The usage text (command_table.h).
std::string Usage();

}  // namespace xctl::cli
