// xctl: the command-line client of xctld (docs/cli.md).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "client/cli/command_table.h"
#include "client/cli/commands.h"
#include "server/common/flag_help.h"
#include "server/common/flag_names.h"
#include "server/common/version.h"

ABSL_FLAG(std::string, server, "", "xctld address HOST:PORT (default $XCTL_SERVER or 127.0.0.1:50051)");
ABSL_FLAG(bool, json, false, "print JSON (one object per line) instead of tables");
ABSL_FLAG(bool, watch, false, "keep streaming updates");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call");
ABSL_FLAG(std::string, ca, "", "TLS: PEM file of the CA (or self-signed certificate) to trust; "
                               "default $XCTL_CA; empty: plaintext");
ABSL_FLAG(bool, token_stdin, false,
          "read the token from the first line of standard input (else $XCTL_TOKEN)");
ABSL_FLAG(bool, secret_stdin, false,
          "signal, strategies create: read the signal secret from the first line of standard "
          "input (else $XCTL_SIGNAL_SECRET)");

namespace {

// A secret given as a flag is in the command line, which every user of the
// machine can read (ps, /proc/PID/cmdline): refused before anything runs.
// The flag names are normalized ("--name[=value]", '_' for '-').
std::optional<std::string> SecretOnTheCommandLine(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view a = args[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    a.remove_prefix(a[1] == '-' ? 2 : 1);
    a = a.substr(0, a.find('='));
    if (a == "secret" || a == "signal_secret") {
      return "--secret is refused: a command line is visible to every user of this machine "
             "(ps, /proc/PID/cmdline). Pass the signal secret in the environment "
             "(XCTL_SIGNAL_SECRET=... xctl ...) or on standard input (... | xctl ... "
             "--secret-stdin)";
    }
    if (a == "token") {
      return "--token is refused: a command line is visible to every user of this machine "
             "(ps, /proc/PID/cmdline). Pass the token in the environment (XCTL_TOKEN=... xctl "
             "...) or on standard input (... | xctl ... --token-stdin)";
    }
  }
  return std::nullopt;
}

// The first line of standard input without its line end; nullopt when empty.
std::optional<std::string> FirstLineOfStdin() {
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return std::nullopt;
  return line;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(xctl::cli::Usage());
  absl::FlagsUsageConfig usage;
  usage.version_string = [] { return xctl::VersionLine("xctl"); };
  absl::SetFlagsUsageConfig(usage);
  std::vector<std::string> args = xctl::NormalizeFlagNames(argc, argv);
  if (auto refused = SecretOnTheCommandLine(args)) {
    std::fprintf(stderr, "xctl: %s\n", refused->c_str());
    return xctl::cli::kUsage;
  }
  // The CLI's flags are those of client/cli/; --help lists them and a
  // misspelt one is a usage error naming the nearest.
  const xctl::FlagFileFilter own = [](absl::string_view file) {
    return absl::StrContains(file, "client/cli/");
  };
  if (xctl::WantsHelp(args)) {
    // `xctl order place --help`: that command's lines and flags; else all.
    std::vector<std::string> words;
    for (size_t i = 1; i < args.size() && !absl::StartsWith(args[i], "-"); ++i) {
      words.push_back(args[i]);
    }
    std::string help = words.empty() ? "" : xctl::cli::CommandHelpText(words, own);
    if (help.empty()) help = xctl::FlagHelp(xctl::cli::Usage(), own);
    std::fputs(help.c_str(), stdout);
    return 0;
  }
  if (auto unknown = xctl::CheckFlags(args, own)) {
    std::fprintf(stderr, "xctl: %s\n", unknown->c_str());
    return xctl::cli::kUsage;
  }
  std::vector<char*> ptrs;
  for (auto& a : args) ptrs.push_back(a.data());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(ptrs.size()), ptrs.data());
  std::vector<std::string> words(rest.begin() + 1, rest.end());
  // A flag of another command (`xctl prices --strategy s1`) is refused, not ignored.
  if (auto misplaced = xctl::cli::CheckCommandFlags(args, words, own)) {
    std::fprintf(stderr, "%s\n", misplaced->c_str());
    return xctl::cli::kUsage;
  }

  std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) {
    const char* env = std::getenv("XCTL_SERVER");
    server = env && *env ? env : "127.0.0.1:50051";
  }
  xctl::cli::Context ctx;
  std::string ca = absl::GetFlag(FLAGS_ca);
  if (ca.empty()) {
    const char* env = std::getenv("XCTL_CA");
    ca = env ? env : "";
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!ca.empty()) {
    std::ifstream in(ca, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "xctl: cannot read the CA file %s\n", ca.c_str());
      return xctl::cli::kUsage;
    }
    grpc::SslCredentialsOptions options;
    options.pem_root_certs.assign(std::istreambuf_iterator<char>(in), {});
    credentials = grpc::SslCredentials(options);
  }
  ctx.channel = grpc::CreateChannel(server, credentials);
  ctx.json = absl::GetFlag(FLAGS_json);
  ctx.watch = absl::GetFlag(FLAGS_watch);
  ctx.timeout = absl::GetFlag(FLAGS_timeout);
  ctx.token = Env("XCTL_TOKEN");
  ctx.signal_secret = Env("XCTL_SIGNAL_SECRET");
  const bool token_stdin = absl::GetFlag(FLAGS_token_stdin);
  const bool secret_stdin = absl::GetFlag(FLAGS_secret_stdin);
  if (token_stdin && secret_stdin) {
    std::fprintf(stderr, "xctl: give --token-stdin or --secret-stdin, not both; put the other "
                         "in the environment (XCTL_TOKEN, XCTL_SIGNAL_SECRET)\n");
    return xctl::cli::kUsage;
  }
  if (token_stdin || secret_stdin) {
    auto line = FirstLineOfStdin();
    if (!line) {
      std::fprintf(stderr, "xctl: %s: standard input is empty; pipe the %s into it\n",
                   token_stdin ? "--token-stdin" : "--secret-stdin",
                   token_stdin ? "token" : "signal secret");
      return xctl::cli::kUsage;
    }
    (token_stdin ? ctx.token : ctx.signal_secret) = *std::move(line);
  }
  return xctl::cli::Run(words, ctx);
}
