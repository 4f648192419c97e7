// xctld: the xctl server. Reads the config file, applies flags over it,
// opens the store, starts the price module and the gRPC API, and shuts down
// cleanly on SIGINT/SIGTERM. Errors at start print one line and exit non-zero:
// 2 for a bad config or flag, 1 for a failure to start (database, port).
// Exit code 3 (kExitListenerLost): the gRPC listener stopped accepting and
// could not be rebuilt; trading was stopped cleanly, a supervisor restarts.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "server/api/fd_limit.h"
#include "server/app/server_app.h"
#include "server/cluster/nats_bus.h"
#include "server/common/log.h"
#include "server/common/flag_help.h"
#include "server/common/flag_names.h"
#include "server/common/version.h"
#include "server/config/config.h"

ABSL_FLAG(std::string, config, "", "YAML config file (see docs/operations.md)");
ABSL_FLAG(std::optional<std::string>, listen, std::nullopt,
          "gRPC listen address HOST:PORT (default 127.0.0.1:50051; port 0 picks a free one)");
ABSL_FLAG(std::optional<std::string>, db, std::nullopt,
          "database URL: sqlite:PATH or postgresql://user:pass@host:port/db");
ABSL_FLAG(std::optional<std::string>, log_level, std::nullopt,
          "trace, debug, info, warn, error, critical or off");
ABSL_FLAG(std::optional<std::string>, price_source, std::nullopt,
          "simulated, blofin (REST poll), blofin-ws (WebSocket push) or replay");
ABSL_FLAG(std::optional<std::string>, pairs, std::nullopt,
          "comma-separated BloFin instrument ids, e.g. BTC-USDT,ETH-USDT");
ABSL_FLAG(std::optional<int>, price_interval_ms, std::nullopt,
          "price poll interval in ms (minimum 50)");
ABSL_FLAG(std::optional<std::string>, blofin_url, std::nullopt,
          "BloFin REST base URL for prices");
ABSL_FLAG(std::optional<int>, blofin_requests_per_minute, std::nullopt,
          "requests a minute to BloFin's host from this xctld, prices and live strategies "
          "together (default 400; BloFin allows 500 per IP)");
ABSL_FLAG(std::optional<std::string>, replay_file, std::nullopt,
          "CSV file of ticks for the replay price source");
ABSL_FLAG(std::optional<std::string>, metrics_listen, std::nullopt,
          "serve Prometheus metrics (GET /metrics) on HOST:PORT, loopback unless "
          "metrics.allow_remote (default: off)");
ABSL_FLAG(std::optional<std::string>, cluster, std::nullopt,
          "cluster mode: NATS URL, e.g. nats://127.0.0.1:4222 (needs a PostgreSQL --db; "
          "see docs/cluster.md)");
ABSL_FLAG(std::optional<std::string>, node_id, std::nullopt,
          "cluster mode: this instance's id (default <hostname>-<pid>-<random>)");
ABSL_FLAG(std::string, port_file, "",
          "write the bound gRPC port to this file once serving");
ABSL_FLAG(bool, check_config, false, "validate the configuration and exit");
ABSL_FLAG(bool, forget_credentials, false,
          "clear every strategy's stored BloFin credentials at start (they switch to paper): "
          "the recovery from a lost master key (docs/operations.md)");
ABSL_FLAG(bool, allow_insecure_tokens, false,
          "allow auth tokens on a non-loopback --listen without TLS (they cross the network "
          "in clear); by default xctld refuses to start so (config: auth.allow_insecure_tokens)");
ABSL_FLAG(std::optional<int>, watchdog_interval_ms, std::nullopt,
          "listener watchdog: ms between health calls to xctld's own port over a fresh "
          "connection (default 5000; 0 turns the watchdog off; config: "
          "connections.watchdog_interval_ms)");
ABSL_FLAG(std::optional<int>, watchdog_timeout_ms, std::nullopt,
          "listener watchdog: deadline of one health call in ms (default 2000)");
ABSL_FLAG(std::optional<int>, watchdog_failures, std::nullopt,
          "listener watchdog: failed calls in a row, with file descriptors free again, "
          "before the gRPC server is rebuilt on the same port (default 3; exit code 3 "
          "when that fails)");
ABSL_FLAG(bool, allow_core_dumps, false,
          "keep core dumps possible; by default xctld turns them off (no core file, not "
          "dumpable, no ptrace by the same user) because its memory holds credentials");

namespace {

// Credentials, tokens and the master key are in this process's memory: no
// core file (RLIMIT_CORE 0, visible in /proc/PID/limits) and not dumpable
// (no core through a core_pattern pipe either, and no ptrace or
// /proc/PID/mem by other processes of the same user).
void DisableCoreDumps() {
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    std::perror("xctld: setrlimit(RLIMIT_CORE)");
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) std::perror("xctld: prctl(PR_SET_DUMPABLE)");
}

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "xctld: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return code;
}

void ApplyFlags(xctl::ServerConfig& c) {
  if (auto v = absl::GetFlag(FLAGS_listen)) c.listen = *v;
  if (auto v = absl::GetFlag(FLAGS_db)) c.database = *v;
  if (auto v = absl::GetFlag(FLAGS_log_level)) c.log_level = *v;
  if (auto v = absl::GetFlag(FLAGS_price_source)) c.price.source = *v;
  if (auto v = absl::GetFlag(FLAGS_pairs)) {
    c.price.pairs.clear();
    for (absl::string_view p : absl::StrSplit(*v, ',', absl::SkipWhitespace())) {
      c.price.pairs.emplace_back(absl::StripAsciiWhitespace(p));
    }
  }
  if (auto v = absl::GetFlag(FLAGS_price_interval_ms)) c.price.interval_ms = *v;
  if (auto v = absl::GetFlag(FLAGS_blofin_url)) c.price.blofin_url = *v;
  if (auto v = absl::GetFlag(FLAGS_blofin_requests_per_minute)) {
    c.blofin.requests_per_minute = *v;
  }
  if (auto v = absl::GetFlag(FLAGS_replay_file)) c.price.replay_file = *v;
  if (auto v = absl::GetFlag(FLAGS_metrics_listen)) c.metrics.listen = *v;
  if (auto v = absl::GetFlag(FLAGS_cluster)) c.cluster.nats_url = *v;
  if (auto v = absl::GetFlag(FLAGS_node_id)) c.cluster.node_id = *v;
  if (absl::GetFlag(FLAGS_allow_insecure_tokens)) c.auth.allow_insecure_tokens = true;
  if (auto v = absl::GetFlag(FLAGS_watchdog_interval_ms)) {
    c.connections.watchdog_interval_ms = *v;
  }
  if (auto v = absl::GetFlag(FLAGS_watchdog_timeout_ms)) c.connections.watchdog_timeout_ms = *v;
  if (auto v = absl::GetFlag(FLAGS_watchdog_failures)) c.connections.watchdog_failures = *v;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built with its deadlock detector on: it keeps a graph
  // of the order mutexes are taken in and aborts at the first cycle (a
  // possible deadlock). Debug builds keep it; release builds (NDEBUG) turn it
  // off, as it costs a graph update on every Mutex::Lock (about 5% of a mark
  // to market). The thread-safety annotations check that locks are held, not
  // their order; scripts/check-threads runs both checks.
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#else
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kAbort);
#endif
  constexpr char kUsage[] =
      "xctl server: price feed, exchange control and strategy manager.\n"
      "Usage: xctld [--config FILE] [--listen HOST:PORT] [--db URL] ... "
      "(flags override the config file; docs/operations.md)";
  absl::SetProgramUsageMessage(kUsage);
  absl::FlagsUsageConfig usage;
  usage.version_string = [] { return xctl::VersionLine("xctld"); };
  absl::SetFlagsUsageConfig(usage);
  std::vector<std::string> args = xctl::NormalizeFlagNames(argc, argv);
  // The flags of this file are xctld's; --help lists them, and a misspelt
  // one is a usage error (2) naming the nearest, as a bad config is.
  const xctl::FlagFileFilter own = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  if (xctl::WantsHelp(args)) {
    std::fputs(xctl::FlagHelp(kUsage, own).c_str(), stdout);
    return 0;
  }
  if (auto unknown = xctl::CheckFlags(args, own)) return Fail(2, *unknown);
  std::vector<char*> arg_ptrs;
  for (auto& a : args) arg_ptrs.push_back(a.data());
  std::vector<char*> rest =
      absl::ParseCommandLine(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
  if (rest.size() > 1) {
    return Fail(2, std::string("unexpected argument \"") + rest[1] +
                       "\" (flags are --name=value; see --help)");
  }
  const bool core_dumps = absl::GetFlag(FLAGS_allow_core_dumps);
  if (!core_dumps) DisableCoreDumps();

  xctl::ServerConfig config;
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    auto loaded = xctl::LoadConfigFile(path);
    if (!loaded.ok()) return Fail(2, loaded.status().message());
    config = *std::move(loaded);
  }
  ApplyFlags(config);
  config.forget_credentials = absl::GetFlag(FLAGS_forget_credentials);
  if (absl::Status ok = xctl::ValidateConfig(config); !ok.ok()) {
    return Fail(2, ok.message());
  }
  if (absl::GetFlag(FLAGS_check_config)) {
    std::printf("xctld: configuration is valid\n");
    return 0;
  }
  xctl::InitLogging(config.log_level);
  spdlog::info("event=xctld_starting version={} commit={}", xctl::Version(), xctl::GitCommit());
  if (core_dumps) {
    spdlog::warn("event=core_dumps_allowed note={}",
                 xctl::LogQuote("--allow-core-dumps: a core file may hold credentials"));
  } else {
    spdlog::info("event=core_dumps_disabled");
  }
  // Every connection is a descriptor: as many as the hard limit allows.
  xctl::api::RaiseFdLimit(config.connections.fd_reserve);

  // Block the stop signals in every thread; the main thread waits for them.
  // A peer that closed its socket (a NATS server, PostgreSQL, BloFin) is an
  // error of the write that noticed it, never a reason for the process to die.
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto app = xctl::app::ServerApp::Start(config);
  if (!app.ok()) return Fail(1, app.status().message());

  if (std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*app)->port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("event=xctld_stopping signal={}", strsignal(signal_number));
  (*app)->Shutdown();
  const int exit_code = (*app)->exit_code();
  app->reset();
  // libnats' global state (only ever opened in cluster mode).
  if (config.cluster.enabled()) xctl::cluster::ShutdownNatsLibrary();
  spdlog::info("event=xctld_stopped exit_code={}", exit_code);
  return exit_code;
}
