// "Safe in a hostile world": attacks and faults tried against the real xctld
// and xctl binaries over loopback, each asserting what the attacker gets
// (docs/security.md, "Attacks tried on xctld"):
//   - a TradingView alert replayed without a client order id trades once;
//   - the CLI takes secrets from the environment or standard input and
//     refuses them as flags, so /proc/PID/cmdline never shows one;
//   - a lost or wrong master key with stored credentials stops the start
//     (instead of a new key that decrypts nothing), --forget-credentials
//     recovers; a key file open to others is refused;
//   - the SQLite file, its -wal and -shm, its folder and the key file are
//     private (stat);
//   - core dumps are off (RLIMIT_CORE 0 in /proc/PID/limits) unless
//     --allow-core-dumps;
//   - a full disk is UNAVAILABLE with one line, not INTERNAL, and the next
//     write after space is freed works (a small tmpfs; needs root);
//   - unknown enum values in list filters are INVALID_ARGUMENT;
//   - a flood of idle connections that exhausts the descriptors (gRPC's
//     listener then stops accepting for good) is recovered from by the
//     listener watchdog once the sockets close;
//   - tokens on a non-loopback address without TLS, and a TLS key file open
//     to others, stop the start.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/running_xctld.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::xctl::testing::BinaryPath;
using ::xctl::testing::MakeTempDir;
using ::xctl::testing::ReadFile;
using ::xctl::testing::RunningXctld;
using ::xctl::testing::Subprocess;

constexpr char kSecret[] = "tv-secret-7f3a9c2e1b";

// A config with one tradingview strategy "tv" whose secret is in TV_SECRET.
std::vector<std::string> TradingViewConfig(const std::string& dir) {
  std::ofstream(dir + "/xctl.yaml")
      << "price: {source: simulated, pairs: [BTC-USDT], interval_ms: 100}\n"
      << "strategies:\n"
      << "  - {id: tv, type: tradingview, pairs: [BTC-USDT], signal_secret_env: TV_SECRET, "
         "start: true}\n";
  return {"--config=" + dir + "/xctl.yaml"};
}

std::vector<std::string> TradingViewEnv() { return {std::string("TV_SECRET=") + kSecret}; }

int CountOrders(RunningXctld& s, const std::string& strategy) {
  grpc::ClientContext c;
  v1::ListOrdersRequest req;
  req.set_strategy_id(strategy);
  v1::ListOrdersResponse resp;
  grpc::Status st = v1::ExchangeControl::NewStub(s.channel())->ListOrders(&c, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.orders_size();
}

v1::SubmitSignalRequest Alert() {
  v1::SubmitSignalRequest req;
  req.set_strategy_id("tv");
  req.set_action("buy");
  req.set_symbol("BTC-USDT");
  req.set_quantity("0.1");
  req.set_secret(kSecret);
  req.set_comment("2024-05-01T10:00:00Z");
  return req;
}

int FileMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

// ---- 1. replays -------------------------------------------------------------

TEST(HostileE2e, AReplayedTradingViewAlertWithoutAClientOrderIdTradesOnce) {
  const std::string dir = MakeTempDir("replay");
  RunningXctld server(TradingViewConfig(dir), dir, TradingViewEnv());
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  auto stub = v1::StrategyManager::NewStub(server.channel());
  v1::SubmitSignalResponse first;
  {
    grpc::ClientContext c;
    grpc::Status st = stub->SubmitSignal(&c, Alert(), &first);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_FALSE(first.replayed());
  EXPECT_EQ(first.order().client_order_id().size(), 32u);
  // The attacker posts the captured alert again, five times.
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext c;
    v1::SubmitSignalResponse again;
    grpc::Status st = stub->SubmitSignal(&c, Alert(), &again);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(again.replayed());
    EXPECT_EQ(again.order().id(), first.order().id());
  }
  EXPECT_EQ(CountOrders(server, "tv"), 1);
  // A distinct alert ({{timenow}} in the comment) trades.
  v1::SubmitSignalRequest other = Alert();
  other.set_comment("2024-05-01T10:00:07Z");
  grpc::ClientContext c;
  v1::SubmitSignalResponse resp;
  ASSERT_TRUE(stub->SubmitSignal(&c, other, &resp).ok());
  EXPECT_FALSE(resp.replayed());
  EXPECT_EQ(CountOrders(server, "tv"), 2);
}

// ---- 2. secrets on the CLI's command line --------------------------------------

// A loopback port that accepts connections (the kernel's backlog) and never
// answers: the CLI waits there until its --timeout, long enough to be read.
class SilentPort {
 public:
  SilentPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string Cmdline(pid_t pid) {
  std::string raw = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(raw.begin(), raw.end(), '\0', ' ');
  return raw;
}

TEST(HostileE2e, TheCliNeverPutsASecretOnItsCommandLine) {
  const std::string dir = MakeTempDir("cli-secrets");
  // While it runs, anyone on the machine can read its command line.
  SilentPort silent;
  Subprocess waiting({BinaryPath("client/cli/xctl"),
                      "--server=127.0.0.1:" + std::to_string(silent.port()), "--timeout=20s",
                      "signal", "--strategy", "tv", "--action", "buy", "--symbol", "BTC-USDT",
                      "--quantity", "0.1"},
                     dir + "/waiting",
                     {std::string("XCTL_SIGNAL_SECRET=") + kSecret, "XCTL_TOKEN=tok-5e1b"});
  absl::SleepFor(absl::Milliseconds(300));
  const std::string cmdline = Cmdline(waiting.pid());
  EXPECT_THAT(cmdline, HasSubstr("signal --strategy tv"));  // it is the CLI, still running
  EXPECT_THAT(cmdline, Not(HasSubstr(kSecret)));
  EXPECT_THAT(cmdline, Not(HasSubstr("tok-5e1b")));
  EXPECT_FALSE(waiting.Wait(absl::Milliseconds(1)).has_value());
  waiting.Signal(SIGKILL);

  RunningXctld server(TradingViewConfig(dir), dir, TradingViewEnv());
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  const std::vector<std::string> signal = {
      BinaryPath("client/cli/xctl"), "--server=" + server.address(), "signal", "--strategy",
      "tv", "--action", "buy", "--symbol", "BTC-USDT", "--quantity", "0.1"};
  // A secret given as a flag is refused before anything is sent.
  for (const std::vector<std::string>& flag :
       std::vector<std::vector<std::string>>{{std::string("--secret=") + kSecret},
                                             {"--secret", kSecret},
                                             {"-secret", kSecret},
                                             {"--token=tok-5e1b"},
                                             {"--token", "tok-5e1b"}}) {
    std::vector<std::string> argv = signal;
    argv.insert(argv.end(), flag.begin(), flag.end());
    Subprocess p(argv, dir + "/refused");
    EXPECT_EQ(p.Wait(absl::Seconds(30)), 2) << flag[0];
    const bool token = absl::StrContains(flag[0], "token");
    EXPECT_THAT(p.Stderr(), HasSubstr(token ? "XCTL_TOKEN" : "XCTL_SIGNAL_SECRET"));
    EXPECT_THAT(p.Stderr(), HasSubstr(token ? "--token-stdin" : "--secret-stdin"));
    EXPECT_THAT(p.Stderr(), Not(HasSubstr(kSecret)));
  }
  EXPECT_EQ(CountOrders(server, "tv"), 0);

  // From the environment, and from standard input: the signal is taken.
  std::vector<std::string> with_env = signal;
  with_env.push_back("--client-order-id=env1");
  Subprocess env(with_env, dir + "/env", {std::string("XCTL_SIGNAL_SECRET=") + kSecret});
  EXPECT_EQ(env.Wait(absl::Seconds(30)), 0) << env.Stderr();
  std::string piped = std::string("printf '%s\\n' '") + kSecret + "' | '" +
                      BinaryPath("client/cli/xctl") + "' --server=" + server.address() +
                      " signal --strategy tv --action buy --symbol BTC-USDT --quantity 0.1 "
                      "--client-order-id stdin1 --secret-stdin";
  Subprocess stdin_run({"/bin/sh", "-c", piped}, dir + "/stdin");
  EXPECT_EQ(stdin_run.Wait(absl::Seconds(30)), 0) << stdin_run.Stderr();
  // Without the secret: the server refuses.
  std::vector<std::string> without = signal;
  without.push_back("--client-order-id=none1");
  Subprocess none(without, dir + "/none");
  EXPECT_EQ(none.Wait(absl::Seconds(30)), 1);
  EXPECT_THAT(none.Stderr(), HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(CountOrders(server, "tv"), 2);
}

// ---- 3. the master key ------------------------------------------------------

void CreateLiveStrategy(RunningXctld& server) {
  grpc::ClientContext c;
  v1::CreateStrategyRequest req;
  req.mutable_strategy()->set_id("live-1");
  req.mutable_strategy()->set_type("external");
  req.mutable_strategy()->add_pairs("BTC-USDT");
  req.mutable_credentials()->set_api_key("key-AKIA77");
  req.mutable_credentials()->set_api_secret("secret-9d8c7b");
  req.mutable_credentials()->set_passphrase("pass-61");
  v1::CreateStrategyResponse resp;
  grpc::Status st = v1::StrategyManager::NewStub(server.channel())->CreateStrategy(&c, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(resp.strategy().has_credentials());
}

// xctld on `dir`'s database that is expected to refuse to start.
std::pair<std::optional<int>, std::string> StartRefused(const std::string& dir,
                                                        std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {BinaryPath("server/xctld"), "--listen=127.0.0.1:0",
                                   "--db=sqlite:" + dir + "/xctl.db"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Subprocess p(argv, dir + "/refused-start");
  auto code = p.Wait(absl::Seconds(30));
  return {code, p.Stderr()};
}

TEST(HostileE2e, ALostOrWrongMasterKeyStopsTheStartInsteadOfBeingReplaced) {
  const std::string dir = MakeTempDir("lost-key");
  const std::string key = dir + "/xctl.key";
  {
    RunningXctld server({}, dir);
    ASSERT_TRUE(server.ok()) << server.process().Stderr();
    CreateLiveStrategy(server);
    ASSERT_EQ(server.Stop(), 0);
  }
  const std::string original = ReadFile(key);
  ASSERT_EQ(original.size(), 32u);

  // The key is lost: no start, and no new key made.
  ASSERT_EQ(std::remove(key.c_str()), 0);
  auto [code, err] = StartRefused(dir);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(err, HasSubstr("the key file " + key + " is missing"));
  EXPECT_THAT(err, HasSubstr("live-1"));
  EXPECT_THAT(err, HasSubstr("Restore the key file"));
  EXPECT_THAT(err, HasSubstr("--forget-credentials"));
  EXPECT_FALSE(std::filesystem::exists(key));

  // Another key (a backup of the wrong machine): no start either.
  {
    int fd = open(key.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    std::string other(32, 'k');
    ASSERT_EQ(write(fd, other.data(), other.size()), 32);
    close(fd);
  }
  std::tie(code, err) = StartRefused(dir);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(err, HasSubstr("does not decrypt the credentials stored for strategies live-1"));
  EXPECT_THAT(err, HasSubstr("--forget-credentials"));

  // The right key restored from backup: it starts, still live.
  {
    std::ofstream(key, std::ios::binary | std::ios::trunc) << original;
    RunningXctld server({}, dir);
    ASSERT_TRUE(server.ok()) << server.process().Stderr();
    grpc::ClientContext c;
    v1::GetStrategyRequest req;
    req.set_id("live-1");
    v1::GetStrategyResponse resp;
    ASSERT_TRUE(v1::StrategyManager::NewStub(server.channel())->GetStrategy(&c, req, &resp).ok());
    EXPECT_TRUE(resp.strategy().has_credentials());
    ASSERT_EQ(server.Stop(), 0);
  }

  // Or the credentials are given up: --forget-credentials starts on paper.
  ASSERT_EQ(std::remove(key.c_str()), 0);
  RunningXctld server({"--forget-credentials"}, dir);
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  EXPECT_THAT(server.process().Stdout() + server.process().Stderr(),
              HasSubstr("event=credentials_forgotten"));
  grpc::ClientContext c;
  v1::GetStrategyRequest req;
  req.set_id("live-1");
  v1::GetStrategyResponse resp;
  ASSERT_TRUE(v1::StrategyManager::NewStub(server.channel())->GetStrategy(&c, req, &resp).ok());
  EXPECT_FALSE(resp.strategy().has_credentials());
  EXPECT_EQ(resp.strategy().mode(), v1::TRADING_MODE_PAPER);
}

TEST(HostileE2e, AKeyFileOpenToOthersIsRefusedAtStart) {
  const std::string dir = MakeTempDir("key-mode");
  const std::string key = dir + "/xctl.key";
  {
    RunningXctld server({}, dir);
    ASSERT_TRUE(server.ok()) << server.process().Stderr();
    ASSERT_EQ(server.Stop(), 0);
  }
  ASSERT_EQ(FileMode(key), 0600);
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  auto [code, err] = StartRefused(dir);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(err, HasSubstr("chmod 600 " + key));
  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
  RunningXctld again({}, dir);
  EXPECT_TRUE(again.ok()) << again.process().Stderr();
}

// ---- 4. file modes ------------------------------------------------------------

TEST(HostileE2e, TheDatabaseItsFolderAndTheKeyArePrivate) {
  const std::string dir = MakeTempDir("modes");
  const std::string data = dir + "/fresh/data";
  RunningXctld server({"--db=sqlite:" + data + "/xctl.db"}, dir);
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  CreateLiveStrategy(server);  // a write: the -wal and -shm files exist
  EXPECT_EQ(FileMode(dir + "/fresh"), 0700);
  EXPECT_EQ(FileMode(data), 0700);
  EXPECT_EQ(FileMode(data + "/xctl.db"), 0600);
  EXPECT_EQ(FileMode(data + "/xctl.db-wal"), 0600);
  EXPECT_EQ(FileMode(data + "/xctl.db-shm"), 0600);
  EXPECT_EQ(FileMode(data + "/xctl.key"), 0600);
}

// ---- 5. core dumps ------------------------------------------------------------

// The soft and hard "Max core file size" of a process, as /proc shows them.
std::string CoreLimit(pid_t pid) {
  for (absl::string_view line :
       absl::StrSplit(ReadFile("/proc/" + std::to_string(pid) + "/limits"), '\n')) {
    if (!absl::StartsWith(line, "Max core file size")) continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line.substr(18), ' ', absl::SkipWhitespace());
    if (words.size() >= 2) return absl::StrCat(words[0], " ", words[1]);
  }
  return "?";
}

TEST(HostileE2e, CoreDumpsAreOffUnlessAllowed) {
  // Give the children a core limit to inherit, so "off" can be told apart.
  struct rlimit want = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_CORE, &want) != 0) {
    struct rlimit now;
    getrlimit(RLIMIT_CORE, &now);
    now.rlim_cur = now.rlim_max;
    setrlimit(RLIMIT_CORE, &now);
  }
  const std::string inherited = CoreLimit(getpid());
  RunningXctld off({}, MakeTempDir("cores-off"));
  ASSERT_TRUE(off.ok()) << off.process().Stderr();
  EXPECT_EQ(CoreLimit(off.process().pid()), "0 0");
  EXPECT_THAT(off.process().Stdout() + off.process().Stderr(),
              HasSubstr("event=core_dumps_disabled"));

  RunningXctld on({"--allow-core-dumps"}, MakeTempDir("cores-on"));
  ASSERT_TRUE(on.ok()) << on.process().Stderr();
  EXPECT_EQ(CoreLimit(on.process().pid()), inherited);
  if (inherited == "0 0") GTEST_SKIP() << "this machine allows no core files to begin with";
}

// ---- 6. faults and bad filters ------------------------------------------------

grpc::Status CreateExternal(RunningXctld& server, const std::string& id) {
  grpc::ClientContext c;
  v1::CreateStrategyRequest req;
  req.mutable_strategy()->set_id(id);
  req.mutable_strategy()->set_type("external");
  req.mutable_strategy()->add_pairs("BTC-USDT");
  req.mutable_strategy()->set_name(std::string(200, 'n'));  // fill pages faster (200: the most a name may have)
  v1::CreateStrategyResponse resp;
  return v1::StrategyManager::NewStub(server.channel())->CreateStrategy(&c, req, &resp);
}

TEST(HostileE2e, AFullDiskIsUnavailableWithOneLineAndTheNextWriteAfterItWorks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  const std::string dir = MakeTempDir("full");
  const std::string mnt = dir + "/small";
  std::filesystem::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  RunningXctld server({"--db=sqlite:" + mnt + "/xctl.db"}, dir);
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  grpc::Status before = CreateExternal(server, "before");
  ASSERT_TRUE(before.ok()) << before.error_message();
  // Fill the disk.
  const std::string filler = mnt + "/filler";
  {
    int fd = open(filler.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    std::string block(4096, 'x');
    while (write(fd, block.data(), block.size()) > 0) {
    }
    close(fd);
  }
  grpc::Status failed;
  for (int i = 0; i < 2000 && failed.ok(); ++i) {
    failed = CreateExternal(server, "s" + std::to_string(i));
  }
  ASSERT_FALSE(failed.ok()) << "the disk never filled";
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE) << failed.error_message();
  EXPECT_THAT(failed.error_message(), HasSubstr("database full"));
  EXPECT_THAT(failed.error_message(), Not(HasSubstr("\n")));
  // Space again: the next write works.
  ASSERT_EQ(std::remove(filler.c_str()), 0);
  grpc::Status after = CreateExternal(server, "after");
  EXPECT_TRUE(after.ok()) << after.error_message();
  ASSERT_EQ(server.Stop(), 0);
  EXPECT_THAT(server.process().Stdout() + server.process().Stderr(),
              HasSubstr("database or disk is full"));  // the detail is in the log
}

TEST(HostileE2e, UnknownEnumValuesInListFiltersAreRefusedNamingTheField) {
  RunningXctld server({}, MakeTempDir("enums"));
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  auto control = v1::ExchangeControl::NewStub(server.channel());
  auto strategies = v1::StrategyManager::NewStub(server.channel());
  {
    grpc::ClientContext c;
    v1::ListOrdersRequest req;
    req.set_status(static_cast<v1::OrderStatus>(99));
    v1::ListOrdersResponse resp;
    grpc::Status st = control->ListOrders(&c, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("status: unknown value 99; one of "));
    EXPECT_THAT(st.error_message(), HasSubstr("ORDER_STATUS_FILLED"));
  }
  {
    grpc::ClientContext c;
    v1::ListPositionsRequest req;
    req.set_status(static_cast<v1::PositionStatus>(7));
    v1::ListPositionsResponse resp;
    grpc::Status st = control->ListPositions(&c, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("status: unknown value 7; one of "
                                              "POSITION_STATUS_UNSPECIFIED (all), "
                                              "POSITION_STATUS_OPEN, POSITION_STATUS_CLOSED"));
  }
  {
    grpc::ClientContext c;
    v1::ListStrategiesRequest req;
    req.set_mode(static_cast<v1::TradingMode>(5));
    v1::ListStrategiesResponse resp;
    grpc::Status st = strategies->ListStrategies(&c, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("mode: unknown value 5; one of "));
    EXPECT_THAT(st.error_message(), HasSubstr("TRADING_MODE_LIVE"));
  }
  {
    grpc::ClientContext c;
    v1::ListStrategiesRequest req;
    req.set_status(static_cast<v1::StrategyStatus>(42));
    v1::ListStrategiesResponse resp;
    grpc::Status st = strategies->ListStrategies(&c, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("status: unknown value 42; one of "));
  }
}

// ---- 7. connection flood --------------------------------------------------------

// ListPrices over a connection of its own (never one opened before the
// flood, which would keep working).
grpc::Status ListPricesOnAFreshConnection(const std::string& address, absl::Duration timeout) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  v1::ListPricesRequest req;
  v1::ListPricesResponse resp;
  return v1::PriceFeed::NewStub(channel)->ListPrices(&c, req, &resp);
}

// Polls `done` every 100 ms up to `limit`; true once it held.
template <typename Done>
bool PollUntil(absl::Duration limit, Done done) {
  const absl::Time end = absl::Now() + limit;
  while (absl::Now() < end) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return done();
}

// An idle TCP connection (connect only, nothing sent); -1 when no socket.
int IdleConnection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));  // EINPROGRESS is fine
  return fd;
}

TEST(HostileE2e, AConnectionFloodThatExhaustsDescriptorsIsRecoveredFrom) {
  const std::string dir = MakeTempDir("flood");
  std::ofstream(dir + "/xctl.yaml") << "connections: {fd_reserve: 32}\n";
  RunningXctld server({"--config=" + dir + "/xctl.yaml", "--watchdog-interval-ms=500",
                       "--watchdog-timeout-ms=1000", "--watchdog-failures=2"},
                      dir);
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  auto logs = [&] { return server.process().Stdout() + server.process().Stderr(); };
  ASSERT_TRUE(PollUntil(absl::Seconds(30), [&] {
    return absl::StrContains(logs(), "event=listener_watchdog_armed");
  })) << logs();
  EXPECT_THAT(logs(), HasSubstr("event=fd_limit soft_before="));
  ASSERT_TRUE(CreateExternal(server, "survivor").ok());  // state from before the flood
  const int port = std::stoi(server.address().substr(server.address().rfind(':') + 1));

  // Few descriptors, as a busy machine would have: the flood needs fewer sockets.
  struct rlimit low = {256, 256};
  ASSERT_EQ(prlimit(server.process().pid(), RLIMIT_NOFILE, &low, nullptr), 0)
      << std::strerror(errno);
  std::vector<int> flood;
  bool failed_accept = false;
  for (int round = 0; round < 40 && !failed_accept; ++round) {
    for (int i = 0; i < 25; ++i) flood.push_back(IdleConnection(port));
    failed_accept = PollUntil(absl::Milliseconds(200), [&] {
      return absl::StrContains(logs(), "Too many open files");
    });
  }
  ASSERT_TRUE(failed_accept) << "no accept failure after " << flood.size() << " connections\n"
                             << logs();
  ASSERT_TRUE(PollUntil(absl::Seconds(10), [&] {
    return !ListPricesOnAFreshConnection(server.address(), absl::Milliseconds(500)).ok();
  })) << "the API still answers new connections after the flood";
  for (int fd : flood) close(fd);
  const absl::Time released = absl::Now();

  // The watchdog notices within a few periods and rebuilds the listener.
  ASSERT_TRUE(PollUntil(absl::Seconds(60), [&] {
    return ListPricesOnAFreshConnection(server.address(), absl::Seconds(1)).ok();
  })) << "no answer 60 s after the flood closed\n" << logs();
  std::printf("flood: %zu idle connections; the API answered %.1f s after they closed\n",
              flood.size(), absl::ToDoubleSeconds(absl::Now() - released));
  EXPECT_THAT(logs(), HasSubstr("event=listener_rebuilt"));
  // Same process, same port, state kept; the old channel reconnects.
  grpc::ClientContext c;
  v1::GetStrategyRequest req;
  req.set_id("survivor");
  v1::GetStrategyResponse resp;
  grpc::Status got = v1::StrategyManager::NewStub(server.channel())->GetStrategy(&c, req, &resp);
  EXPECT_TRUE(got.ok()) << got.error_message();
  EXPECT_EQ(server.Stop(), 0);
}

// ---- 8. transport -------------------------------------------------------------

// A config with one admin token (SHA-256 given) and `extra` lines.
std::string TokenConfig(const std::string& dir, const std::string& extra = "") {
  const std::string path = dir + "/tokens.yaml";
  std::ofstream(path) << "auth:\n  tokens:\n    - {name: admin, scope: admin, sha256: "
                      << std::string(64, 'a') << "}\n"
                      << extra;
  return "--config=" + path;
}

TEST(HostileE2e, TokensOffLoopbackWithoutTlsAreRefusedUnlessAllowed) {
  const std::string dir = MakeTempDir("insecure-tokens");
  auto [code, err] = StartRefused(dir, {TokenConfig(dir), "--listen=0.0.0.0:0"});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("tokens cross the network in clear"));
  EXPECT_THAT(err, HasSubstr("--allow-insecure-tokens"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;

  RunningXctld allowed({TokenConfig(dir), "--listen=0.0.0.0:0", "--allow-insecure-tokens"}, dir);
  EXPECT_TRUE(allowed.ok()) << allowed.process().Stderr();
  RunningXctld by_config(
      {TokenConfig(MakeTempDir("insecure-tokens-config"), "  allow_insecure_tokens: true\n"),
       "--listen=0.0.0.0:0"},
      MakeTempDir("insecure-tokens-run"));
  EXPECT_TRUE(by_config.ok()) << by_config.process().Stderr();
}

TEST(HostileE2e, ATlsKeyFileOpenToOthersIsRefusedAtStart) {
  const std::string dir = MakeTempDir("tls-key-mode");
  ASSERT_TRUE(::xctl::testing::MakeSelfSignedCertificate(dir)) << "openssl failed";
  const std::string key = dir + "/key.pem";
  std::ofstream(dir + "/tls.yaml") << "tls: {cert_file: " << dir << "/cert.pem, key_file: "
                                   << key << "}\n";
  ASSERT_EQ(chmod(key.c_str(), 0640), 0);
  auto [code, err] = StartRefused(dir, {"--config=" + dir + "/tls.yaml"});
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(err, HasSubstr(key));
  EXPECT_THAT(err, HasSubstr("chmod 600 " + key));

  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
  RunningXctld server({"--config=" + dir + "/tls.yaml"}, dir);
  ASSERT_FALSE(server.address().empty()) << server.process().Stderr();
  // The listener watchdog's probe speaks TLS too: it arms.
  EXPECT_TRUE(PollUntil(absl::Seconds(30), [&] {
    return absl::StrContains(server.process().Stdout(), "event=listener_watchdog_armed");
  })) << server.process().Stdout();
}

}  // namespace
}  // namespace xctl
