// xctl: the command-line client of xctld (docs/cli.md).
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "client/cli/commands.h"
#include "server/common/flag_names.h"

ABSL_FLAG(std::string, server, "", "xctld address HOST:PORT (default $XCTL_SERVER or 127.0.0.1:50051)");
ABSL_FLAG(bool, json, false, "print JSON (one object per line) instead of tables");
ABSL_FLAG(bool, watch, false, "prices, kpis: keep streaming updates");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call");
ABSL_FLAG(std::string, ca, "", "TLS: PEM file of the CA (or self-signed certificate) to trust; "
                               "default $XCTL_CA; empty: plaintext");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(xctl::cli::Usage());
  std::vector<std::string> args = xctl::NormalizeFlagNames(argc, argv);
  std::vector<char*> ptrs;
  for (auto& a : args) ptrs.push_back(a.data());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(ptrs.size()), ptrs.data());
  std::vector<std::string> words(rest.begin() + 1, rest.end());

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
  if (const char* token = std::getenv("XCTL_TOKEN"); token && *token) ctx.token = token;
  return xctl::cli::Run(words, ctx);
}
