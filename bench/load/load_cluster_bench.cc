// Load benchmark for cluster mode (issue #8): price stream subscribers served
// by three `xctld --cluster` instances against one, and the latency the NATS
// hop adds between the price leader's fetch and a subscriber's read.
//
// Everything runs on 127.0.0.1 of this one machine: a nats-server started
// here, a PostgreSQL database created for the run (from XCTL_TEST_PG_URL or
// --pg=URL, dropped at the end), the xctld processes and the client (this
// process). Without PostgreSQL, psql or nats-server it prints SKIP and exits 0.
//
// Scenarios, one run:
//  A  baseline: one xctld WITHOUT cluster mode (SQLite, simulated prices,
//     N pairs, one poll every interval), S StreamPrices subscribers.
//  C1 one xctld with --cluster (it is the price leader: it fetches, publishes
//     the batch on NATS, and feeds its own bus from NATS like every instance),
//     S subscribers, then 3S x each step (default steps 1, 4, 8, 16: 3S, 12S, 24S,
//     48S subscribers; the capacity steps).
//  C3 the same cluster after two more xctld joined (followers): subscribers
//     spread evenly, S x each step per instance (the same totals as C1).
// Each step: warm-up, then a window of D seconds, measuring
//   - ticks and updates delivered (aggregate per second, and per subscriber
//     min / median / max = fairness), ticks the server reported conflated, so
//     the delivered fraction = delivered / (delivered + conflated);
//   - latency, on a sample of the messages (every 5th of each stream is fully
//     parsed; the others are only scanned for counts, which keeps the client's
//     CPU low, see below), from the newest tick of the update:
//       serve   = read by the client - the tick's receive_time (stamped by the
//                 instance serving the stream when its PriceModule ingested it);
//       fetch   = read by the client - the tick's exchange_time. The simulated
//                 source stamps exchange_time with the clock at the fetch, on
//                 the leader in cluster mode, so this is the leader's fetch to
//                 the client's read (the leader's publish follows the fetch at
//                 once; its publish time is not exposed by the API);
//       ingest  = receive_time - exchange_time: the leader's fetch to the
//                 serving instance's ingest, i.e. the NATS hop itself (0-1 ms
//                 without cluster mode: the same process in the same ms).
//     Both stamps are whole ms (truncated); client reads are sub-ms; +0.5 ms
//     centres the estimate. All clocks are this machine's one clock.
//   - CPU of every xctld, nats-server, this client and the rest of the
//     machine; CPU per delivered tick and per delivered message.
// The scale-out ratio: aggregate delivered ticks/s of three instances divided
// by one instance at the same total subscriber count.
//
// The client is a raw-bytes callback reader (gRPC's callback reader with a
// ByteBuffer response type), so most messages cost it a wire scan instead of
// a full protobuf parse: on a 2-core machine the client shares the cores with
// the servers, and load_streams_bench showed a parsing client using 1.66 of
// the 2 cores. Figures, not pass/fail.
//
//   load_cluster_bench [--xctld=PATH] [--pg=URL] [--nats-server=PATH]
//     [--pairs=20] [--interval-ms=100] [--subscribers=200 (S, per instance)]
//     [--steps=1,4,8,16 (per-instance multiples of S for C3)] [--channels=8]
//     [--duration=10] [--warmup=3] [--sample-every=5] [--quick] [--keep]
//   --quick: S = 150, steps 1,4, 5 s windows, 2 s warm-up.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <memory>

#include "bench/load/load_common.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "xctl/v1/prices.grpc.pb.h"

namespace xctl::load {
namespace {

using google::protobuf::internal::WireFormatLite;

// xctld's default connections.max_streams_per_connection (server/config/config.h).
constexpr int kStreamsPerConnection = 100;

struct Options {
  std::string xctld, pg_url, nats_bin;
  int pairs = 20;
  int interval_ms = 100;
  int subscribers = 200;  // S, per instance
  std::vector<int> steps{1, 4, 8, 16};
  int channels = 8;  // TCP connections per instance
  double duration_s = 10;
  double warmup_s = 3;
  int sample_every = 5;
  bool keep = false;
};

// ---- child processes other than xctld ------------------------------------------

// Children to stop if this program is interrupted (SIGINT / SIGTERM): the
// destructors do it on every normal and error return, a signal skips them.
// The handler also drops the run's database (fork + exec psql, both
// async-signal-safe, with the arguments prepared beforehand).
std::atomic<pid_t> g_children[8];
char g_pg_base[1024], g_drop_sql[256], g_tmp_dirs[2][512];
void TrackChild(pid_t pid) {
  for (auto& c : g_children) {
    pid_t empty = 0;
    if (c.compare_exchange_strong(empty, pid)) return;
  }
}
extern "C" void OnSignal(int sig) {
  for (auto& c : g_children) {
    if (pid_t p = c.load(); p > 0) kill(p, SIGTERM);
  }
  // Reap them (up to 10 s), so none is left for init to collect.
  for (int i = 0; i < 1000; ++i) {
    bool waiting = false;
    for (auto& c : g_children) {
      pid_t p = c.load();
      if (p <= 0) continue;
      int status = 0;
      if (waitpid(p, &status, WNOHANG) == 0) {
        waiting = true;
      } else {
        c.store(0);
      }
    }
    if (!waiting) break;
    timespec ts{0, 10'000'000};
    nanosleep(&ts, nullptr);
  }
  auto run = [](const char* file, const char* a1, const char* a2, const char* a3) {
    if (pid_t p = fork(); p == 0) {
      execlp(file, file, a1, a2, a3, static_cast<char*>(nullptr));
      _exit(127);
    } else if (p > 0) {
      int status = 0;
      waitpid(p, &status, 0);
    }
  };
  if (g_drop_sql[0]) run("psql", g_pg_base, "-qc", g_drop_sql);
  for (const char* d : g_tmp_dirs) {
    if (d[0]) run("rm", "-rf", "--", d);
  }
  _exit(128 + sig);
}

// Runs a command, stdout+stderr to `log`, and returns its exit status (-1 if
// it could not run).
int RunCommand(std::vector<std::string> args, const std::string& log) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool PortOpen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// nats-server on a free loopback port; SIGTERM (then SIGKILL) on destruction.
// PR_SET_PDEATHSIG stops it too if this program dies.
class NatsProcess {
 public:
  ~NatsProcess() { Stop(); }
  bool Start(const std::string& binary, const std::string& dir) {
    port_ = FreePort();
    log_ = dir + "/nats-server.log";
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
      std::string p = std::to_string(port_);
      execl(binary.c_str(), binary.c_str(), "-a", "127.0.0.1", "-p", p.c_str(), nullptr);
      _exit(127);
    }
    TrackChild(pid_);
    for (int i = 0; i < 500; ++i) {
      if (PortOpen(port_)) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      SleepMs(10);
    }
    std::fprintf(stderr, "nats-server did not start; log:\n%s\n", ReadFile(log_).c_str());
    Stop();
    return false;
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      SleepMs(10);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_;
};

// A PostgreSQL database created for the run with psql, dropped (WITH FORCE)
// on destruction.
class PgDatabase {
 public:
  ~PgDatabase() { Drop(); }
  // `base` is a URL whose role may create databases.
  bool Create(const std::string& base, const std::string& log) {
    base_ = base;
    log_ = log;
    name_ = "xctl_bench_cluster_" + std::to_string(getpid()) + "_" +
            std::to_string(static_cast<long long>(WallMs()) % 1000000);
    if (RunCommand({"psql", base, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE " + name_},
                   log) != 0) {
      name_.clear();
      return false;
    }
    std::snprintf(g_pg_base, sizeof g_pg_base, "%s", base.c_str());
    std::snprintf(g_drop_sql, sizeof g_drop_sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                  name_.c_str());
    // Replace the database path of the URL, keep any ?query.
    const size_t scheme = base.find("://");
    const size_t slash = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    const size_t query = base.find('?');
    url_ = (slash == std::string::npos ? base.substr(0, query) : base.substr(0, slash)) + "/" +
           name_ + (query == std::string::npos ? "" : base.substr(query));
    return true;
  }
  void Drop() {
    if (name_.empty()) return;
    RunCommand({"psql", base_, "-qc", "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"}, log_);
    name_.clear();
    g_drop_sql[0] = '\0';
  }
  const std::string& url() const { return url_; }

 private:
  std::string base_, log_, name_, url_;
};

// ---- the client ------------------------------------------------------------------

struct Shared {
  std::atomic<bool> measuring{false};
  std::atomic<int> connected{0};
  std::atomic<int> ended{0};
};

// Counts of one message found by a wire scan of StreamPricesResponse.
struct Scan {
  int payload = 0;  // field number of the oneof: 2 snapshot, 3 update, 4, 5
  uint64_t sequence = 0, ticks = 0, conflated = 0;
};

bool ScanResponse(const std::string& bytes, Scan* s) {
  namespace pb = google::protobuf::io;
  pb::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    const int field = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    if (field == 1 && WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      if (!in.ReadVarint64(&s->sequence)) return false;
    } else if (field == 3 &&
               WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      s->payload = 3;
      uint32_t len = 0;
      if (!in.ReadVarint32(&len)) return false;
      auto limit = in.PushLimit(static_cast<int>(len));
      while (uint32_t t = in.ReadTag()) {
        const int f = static_cast<int>(WireFormatLite::GetTagFieldNumber(t));
        if (f == 1) ++s->ticks;
        if (f == 2 && WireFormatLite::GetTagWireType(t) == WireFormatLite::WIRETYPE_VARINT) {
          if (!in.ReadVarint64(&s->conflated)) return false;
        } else if (!WireFormatLite::SkipField(&in, t)) {
          return false;
        }
      }
      in.PopLimit(limit);
    } else {
      if (field >= 2 && field <= 5) s->payload = field;
      if (!WireFormatLite::SkipField(&in, tag)) return false;
    }
  }
  return true;
}

double Ms(const google::protobuf::Timestamp& t) { return t.seconds() * 1e3 + t.nanos() / 1e6; }

// One StreamPrices stream read as raw bytes (callback API, no thread).
class Subscriber final : public grpc::ClientReadReactor<grpc::ByteBuffer> {
 public:
  Subscriber(const std::shared_ptr<grpc::Channel>& channel, const grpc::internal::RpcMethod& m,
             Shared* shared, int sample_every)
      : shared_(shared), sample_every_(sample_every) {
    grpc::internal::ClientCallbackReaderFactory<grpc::ByteBuffer>::Create(channel.get(), m, &ctx_,
                                                                         &req_, this);
    StartRead(&buf_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const double now = WallMs();
    std::vector<grpc::Slice> slices;
    (void)buf_.Dump(&slices);
    bytes_.clear();
    for (const auto& sl : slices) bytes_.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    Scan s;
    if (!ScanResponse(bytes_, &s)) ++bad_;
    if (s.sequence != last_seq_ + 1) ++seq_gaps_;
    last_seq_ = s.sequence;
    if (s.payload == 2 && !got_snapshot_) {
      got_snapshot_ = true;
      shared_->connected.fetch_add(1);
    } else if (s.payload == 3 && shared_->measuring.load(std::memory_order_relaxed)) {
      updates_.fetch_add(1, std::memory_order_relaxed);
      ticks_.fetch_add(s.ticks, std::memory_order_relaxed);
      conflated_.fetch_add(s.conflated, std::memory_order_relaxed);
      if (++n_ % sample_every_ == 0 && serve_.size() < 400) {
        v1::StreamPricesResponse m;
        if (m.ParseFromString(bytes_) && m.update().ticks_size() > 0) {
          double recv = 0, exch = 0;
          for (const v1::Tick& t : m.update().ticks()) {
            if (Ms(t.receive_time()) > recv) recv = Ms(t.receive_time()), exch = Ms(t.exchange_time());
          }
          serve_.push_back(now - (recv + 0.5));
          fetch_.push_back(now - (exch + 0.5));
          ingest_.push_back(recv - exch);
        }
      }
    }
    StartRead(&buf_);
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> l(mu_);
    status_ = status;
    done_ = true;
    shared_->ended.fetch_add(1);
    cv_.notify_all();
  }
  void Cancel() { ctx_.TryCancel(); }
  void Await() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return done_; });
  }

  // Read after Await.
  uint64_t updates() const { return updates_.load(); }
  uint64_t ticks() const { return ticks_.load(); }
  uint64_t conflated() const { return conflated_.load(); }
  uint64_t seq_gaps() const { return seq_gaps_; }
  uint64_t bad() const { return bad_; }
  const std::vector<double>& serve() const { return serve_; }
  const std::vector<double>& fetch() const { return fetch_; }
  const std::vector<double>& ingest() const { return ingest_; }
  const grpc::Status& status() const { return status_; }

 private:
  Shared* shared_;
  const int sample_every_;
  grpc::ClientContext ctx_;
  v1::StreamPricesRequest req_;  // empty: every configured pair
  grpc::ByteBuffer buf_;
  std::string bytes_;
  uint64_t last_seq_ = 0, seq_gaps_ = 0, bad_ = 0, n_ = 0;
  bool got_snapshot_ = false;
  std::vector<double> serve_, fetch_, ingest_;
  std::atomic<uint64_t> updates_{0}, ticks_{0}, conflated_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

// ---- one measured step -----------------------------------------------------------

struct Step {
  std::string name;
  int instances = 0, total_subs = 0, connected = 0;
  bool ok = false;
  double window_s = 0, connect_s = 0;
  std::vector<double> ticks, updates, conflated;  // per subscriber
  std::vector<int> instance_of;                   // per subscriber
  std::vector<std::vector<double>> serve, fetch, ingest;  // per instance
  uint64_t seq_gaps = 0, ended_early = 0, bad = 0;
  std::vector<double> xctld_cpu;  // cores, per instance
  double nats_cpu = 0, client_cpu = 0, other_cpu = 0;
  std::vector<std::string> top_threads;

  double SumTicks() const { double s = 0; for (double t : ticks) s += t; return s; }
  double SumUpdates() const { double s = 0; for (double u : updates) s += u; return s; }
  double SumConflated() const { double s = 0; for (double c : conflated) s += c; return s; }
  double TicksPerS() const { return SumTicks() / window_s; }
  double DeliveredFraction() const { return SumTicks() / (SumTicks() + SumConflated()); }
  double XctldCpu() const { double s = 0; for (double c : xctld_cpu) s += c; return s; }
  // Ticks per pair the instances published in the window, from the stream
  // figures: (delivered + conflated) per subscriber / pairs.
  double PublishedPerPairPerS(int pairs) const {
    std::vector<double> v;
    for (size_t i = 0; i < ticks.size(); ++i) v.push_back((ticks[i] + conflated[i]) / pairs);
    return Median(v) / window_s;
  }
  std::vector<double> All(const std::vector<std::vector<double>>& per) const {
    std::vector<double> v;
    for (const auto& p : per) v.insert(v.end(), p.begin(), p.end());
    return v;
  }
};

class Instances {
 public:
  std::vector<Xctld*> nodes;
  pid_t nats_pid = -1;
};

Step Measure(const Options& o, const std::string& name, const Instances& inst,
             int subs_per_instance) {
  Step r;
  r.name = name;
  r.instances = static_cast<int>(inst.nodes.size());
  r.total_subs = subs_per_instance * r.instances;
  r.serve.resize(r.instances);
  r.fetch.resize(r.instances);
  r.ingest.resize(r.instances);
  std::printf("\n== %s: %d instance(s) x %d subscribers = %d\n", name.c_str(), r.instances,
              subs_per_instance, r.total_subs);
  Shared shared;
  std::vector<std::shared_ptr<grpc::Channel>> chans;
  std::vector<std::unique_ptr<grpc::internal::RpcMethod>> methods;
  std::vector<std::unique_ptr<Subscriber>> subs;
  // xctld serves at most connections.max_streams_per_connection streams on one
  // connection (100 by default, docs/operations.md); the rest would wait for a
  // free slot, so each instance gets enough connections for its share.
  const int channels =
      std::max({1, std::min(o.channels, subs_per_instance),
                (subs_per_instance + kStreamsPerConnection - 1) / kStreamsPerConnection});
  for (int n = 0; n < r.instances; ++n) {
    for (int c = 0; c < channels; ++c) {
      grpc::ChannelArguments args;
      args.SetInt("xctl.load.channel", n * 1000 + c);
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      chans.push_back(grpc::CreateCustomChannel(inst.nodes[n]->address(),
                                                grpc::InsecureChannelCredentials(), args));
      methods.push_back(std::make_unique<grpc::internal::RpcMethod>(
          "/xctl.v1.PriceFeed/StreamPrices", grpc::internal::RpcMethod::SERVER_STREAMING,
          chans.back()));
    }
  }
  const int64_t c0 = MonoNs();
  for (int i = 0; i < subs_per_instance; ++i) {
    for (int n = 0; n < r.instances; ++n) {
      const int k = n * channels + i % channels;
      subs.push_back(std::make_unique<Subscriber>(chans[k], *methods[k], &shared, o.sample_every));
      r.instance_of.push_back(n);
    }
  }
  while (shared.connected.load() < r.total_subs && (MonoNs() - c0) / 1e9 < 60 &&
         shared.ended.load() == 0) {
    SleepMs(10);
  }
  r.connect_s = (MonoNs() - c0) / 1e9;
  r.connected = shared.connected.load();
  std::printf("  %d streams connected in %.2f s (%d ended)\n", r.connected, r.connect_s,
              shared.ended.load());
  if (r.connected < r.total_subs) {
    std::printf("  FAILED: %d of %d streams connected; this step's figures are not a measurement\n",
                r.connected, r.total_subs);
  }
  SleepMs(o.warmup_s * 1000);

  std::vector<double> cpu0;
  std::vector<std::map<int, std::pair<std::string, double>>> th0;
  for (auto* x : inst.nodes) cpu0.push_back(x->CpuSeconds()), th0.push_back(ThreadCpu(x->pid()));
  const double nats0 = inst.nats_pid > 0 ? ProcCpuSeconds(inst.nats_pid) : 0;
  const double self0 = SelfCpuSeconds(), busy0 = MachineBusySeconds();
  const int64_t w0 = MonoNs();
  shared.measuring = true;
  bool alive = true;
  for (double t = 0; t < o.duration_s && alive; t += 0.5) {
    SleepMs(std::min(0.5, o.duration_s - t) * 1000);
    for (auto* x : inst.nodes) alive = alive && x->alive();
  }
  shared.measuring = false;
  r.window_s = (MonoNs() - w0) / 1e9;
  for (int n = 0; n < r.instances; ++n) {
    r.xctld_cpu.push_back((inst.nodes[n]->CpuSeconds() - cpu0[n]) / r.window_s);
    r.top_threads.push_back(TopThreads(th0[n], ThreadCpu(inst.nodes[n]->pid()), r.window_s, 3));
  }
  r.nats_cpu = inst.nats_pid > 0 ? (ProcCpuSeconds(inst.nats_pid) - nats0) / r.window_s : 0;
  r.client_cpu = (SelfCpuSeconds() - self0) / r.window_s;
  r.other_cpu = (MachineBusySeconds() - busy0) / r.window_s - r.XctldCpu() - r.nats_cpu -
                r.client_cpu;
  if (!alive) std::fprintf(stderr, "an xctld died during the window\n");

  for (auto& s : subs) s->Cancel();
  for (auto& s : subs) s->Await();
  for (size_t i = 0; i < subs.size(); ++i) {
    const auto& s = subs[i];
    const int n = r.instance_of[i];
    r.ticks.push_back(s->ticks());
    r.updates.push_back(s->updates());
    r.conflated.push_back(s->conflated());
    r.seq_gaps += s->seq_gaps();
    r.bad += s->bad();
    if (s->status().error_code() != grpc::StatusCode::CANCELLED) ++r.ended_early;
    r.serve[n].insert(r.serve[n].end(), s->serve().begin(), s->serve().end());
    r.fetch[n].insert(r.fetch[n].end(), s->fetch().begin(), s->fetch().end());
    r.ingest[n].insert(r.ingest[n].end(), s->ingest().begin(), s->ingest().end());
  }
  r.ok = alive && r.ended_early == 0 && r.connected == r.total_subs;
  return r;
}

std::string P(const std::vector<double>& v) {
  return Fmt("%.1f", Percentile(v, 0.5)) + "/" + Fmt("%.1f", Percentile(v, 0.99));
}

void Print(const Options& o, const Step& r) {
  const double rate = 1000.0 / o.interval_ms;
  std::printf("  window %.1f s; published %.2f ticks per pair per s (configured %.1f)%s\n",
              r.window_s, r.PublishedPerPairPerS(o.pairs), rate, r.ok ? "" : "  [NOT ok]");
  std::printf("  delivered: %.0f ticks/s, %.0f updates/s in aggregate; %.1f%% of published "
              "(conflated %.0f ticks)\n",
              r.TicksPerS(), r.SumUpdates() / r.window_s, 100 * r.DeliveredFraction(),
              r.SumConflated());
  std::printf("  per subscriber: ticks/s min %.0f median %.0f max %.0f (min/median %.2f); "
              "updates/s median %.1f (configured %.1f)\n",
              Min(r.ticks) / r.window_s, Median(r.ticks) / r.window_s, Max(r.ticks) / r.window_s,
              Ratio(Min(r.ticks), Median(r.ticks)), Median(r.updates) / r.window_s, rate);
  for (int n = 0; n < r.instances; ++n) {
    std::printf("  instance %d%s: latency p50/p99 ms: serve %s, fetch %s, ingest %s (%zu "
                "samples); CPU %.2f cores (%s)\n",
                n, n == 0 ? " (leader)" : "", P(r.serve[n]).c_str(), P(r.fetch[n]).c_str(),
                P(r.ingest[n]).c_str(), r.serve[n].size(), r.xctld_cpu[n],
                r.top_threads[n].c_str());
  }
  const double ticks = r.SumTicks(), msgs = r.SumUpdates();
  std::printf("  CPU cores: xctld %.2f, nats-server %.2f, client %.2f, other processes %.2f; "
              "xctld CPU per delivered tick %.2f us, per delivered message %.1f us\n",
              r.XctldCpu(), r.nats_cpu, r.client_cpu, r.other_cpu,
              1e6 * r.XctldCpu() * r.window_s / ticks, 1e6 * r.XctldCpu() * r.window_s / msgs);
  std::printf("  sequence gaps %llu, streams ended early %llu, unreadable messages %llu\n",
              (unsigned long long)r.seq_gaps, (unsigned long long)r.ended_early,
              (unsigned long long)r.bad);
}

std::string BaseConfig(const std::string& dir, bool cluster) {
  std::string y = "price:\n  source: simulated\n";
  if (cluster) {
    // A longer lease than the derived 300 ms: on a saturated 2-core machine a
    // late renewal would make the leader step down and skew the window.
    y += "key_file: " + dir + "/xctl.key\ncluster:\n  lease_ttl_ms: 3000\n";
  }
  return y;
}

std::vector<std::string> CommonArgs(const Options& o) {
  return {"--listen=127.0.0.1:0", "--pairs=" + Join(PairNames(o.pairs), ","),
          "--price-interval-ms=" + std::to_string(o.interval_ms), "--price-source=simulated"};
}

std::vector<int> ParseSteps(const std::string& s) {
  std::vector<int> v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (std::atoi(item.c_str()) > 0) v.push_back(std::atoi(item.c_str()));
  }
  return v;
}

int Main(int argc, char** argv) {
  Flags f(argc, argv);
  Options o;
  o.xctld = FindXctld(f);
  const bool quick = f.Bool("quick");
  const char* env_pg = std::getenv("XCTL_TEST_PG_URL");
  o.pg_url = f.Str("pg", env_pg ? env_pg : "");
  o.nats_bin = f.Str("nats-server", std::getenv("XCTL_NATS_SERVER") ? std::getenv("XCTL_NATS_SERVER")
                                                                     : "/usr/sbin/nats-server");
  o.pairs = f.Int("pairs", 20);
  o.interval_ms = f.Int("interval-ms", 100);
  o.subscribers = f.Int("subscribers", quick ? 150 : 200);
  o.steps = ParseSteps(f.Str("steps", quick ? "1,4" : "1,4,8,16"));
  o.channels = f.Int("channels", 8);
  o.duration_s = f.Num("duration", quick ? 5 : 10);
  o.warmup_s = f.Num("warmup", quick ? 2 : 3);
  o.sample_every = std::max(1, f.Int("sample-every", 5));
  o.keep = f.Bool("keep");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::printf("load_cluster_bench: %s\n", MachineLine().c_str());

  // Prerequisites: skip (exit 0) with a message when one is missing.
  if (o.pg_url.empty()) {
    std::printf("SKIP: no PostgreSQL: set XCTL_TEST_PG_URL or pass --pg=URL "
                "(scripts/start-postgres prints one)\n");
    return 0;
  }
  if (access(o.nats_bin.c_str(), X_OK) != 0) {
    std::printf("SKIP: nats-server not found at %s (Debian package nats-server, or "
                "--nats-server=PATH / XCTL_NATS_SERVER)\n",
                o.nats_bin.c_str());
    return 0;
  }
  TempDir dir("xctl-load-cluster", o.keep);
  if (!o.keep) std::snprintf(g_tmp_dirs[0], sizeof g_tmp_dirs[0], "%s", dir.path().c_str());
  PgDatabase db;
  if (RunCommand({"psql", "--version"}, dir / "psql.log") != 0 ||
      !db.Create(o.pg_url, dir / "psql.log")) {
    std::printf("SKIP: could not create a PostgreSQL database with psql at the given URL:\n%s\n",
                ReadFile(dir / "psql.log").c_str());
    return 0;
  }
  const int rate = 1000 / o.interval_ms;
  const int S = o.subscribers;
  std::printf("xctld %s; %d pairs (simulated), interval %d ms; S = %d subscribers per instance, "
              "C3 steps x%s, %d connections per instance; warm-up %.0f s, window %.0f s; every "
              "%d-th message parsed for latency; load average %.2f\n",
              o.xctld.c_str(), o.pairs, o.interval_ms, S, f.Str("steps", quick ? "1,4" : "1,4,8,16").c_str(),
              o.channels, o.warmup_s, o.duration_s, o.sample_every, LoadAverage1());
  std::printf("NOTE: %u cores shared by the client, nats-server, PostgreSQL and every xctld: "
              "three instances get no more cores than one, so the scale-out ratio is bounded by "
              "the machine, not by the design; CPU per delivered tick shows the per-core "
              "scaling.\n",
              std::thread::hardware_concurrency());

  // A: one xctld without cluster mode.
  Step base;
  {
    TempDir adir("xctl-load-cluster-a", o.keep);
    if (!o.keep) std::snprintf(g_tmp_dirs[1], sizeof g_tmp_dirs[1], "%s", adir.path().c_str());
    std::ofstream(adir / "config.yaml") << BaseConfig(adir.path(), false);
    Xctld a;
    auto args = CommonArgs(o);
    args.push_back("--config=" + (adir / "config.yaml"));
    args.push_back("--db=sqlite:" + (adir / "xctl.db"));
    if (!a.Start(o.xctld, args, adir.path())) return 1;
    TrackChild(a.pid());
    Instances inst;
    inst.nodes = {&a};
    base = Measure(o, "A baseline (no cluster)", inst, S);
    Print(o, base);
    a.Stop();
  }

  // The cluster: nats-server, the database, node0 alone (the leader).
  NatsProcess nats;
  if (!nats.Start(o.nats_bin, dir.path())) return 1;
  // One key_file for every instance (xctld creates it on first use).
  std::vector<std::unique_ptr<Xctld>> nodes;
  auto start_node = [&](int i) {
    const std::string nd = dir / ("node" + std::to_string(i));
    std::filesystem::create_directories(nd);
    std::ofstream(nd + "/config.yaml") << BaseConfig(dir.path(), true);
    auto args = CommonArgs(o);
    args.push_back("--config=" + nd + "/config.yaml");
    args.push_back("--db=" + db.url());
    args.push_back("--cluster=" + nats.url());
    args.push_back("--node-id=node" + std::to_string(i));
    nodes.push_back(std::make_unique<Xctld>());
    const bool ok = nodes.back()->Start(o.xctld, args, nd);
    if (ok) TrackChild(nodes.back()->pid());
    return ok;
  };
  if (!start_node(0)) return 1;
  for (int i = 0; i < 300 && nodes[0]->CountLog("event=price_leader_gained") == 0; ++i) SleepMs(10);
  if (nodes[0]->CountLog("event=price_leader_gained") == 0) {
    std::fprintf(stderr, "node0 did not become price leader; log tail:\n%s\n",
                 nodes[0]->Tail(20).c_str());
    return 1;
  }

  // Totals compared between one and three instances: 3S x step.
  std::vector<int> totals;
  for (int k : o.steps) totals.push_back(3 * S * k);
  Instances one;
  one.nodes = {nodes[0].get()};
  one.nats_pid = nats.pid();
  Step c1s = Measure(o, "C1 one cluster instance (leader), S subscribers", one, S);
  Print(o, c1s);
  std::vector<Step> c1;
  for (int t : totals) {
    c1.push_back(Measure(o, "C1 one cluster instance, " + std::to_string(t) + " subscribers", one, t));
    Print(o, c1.back());
  }

  if (!start_node(1) || !start_node(2)) return 1;
  SleepMs(1000);  // followers receive batches
  Instances three;
  for (auto& n : nodes) three.nodes.push_back(n.get());
  three.nats_pid = nats.pid();
  std::vector<Step> c3;
  for (size_t i = 0; i < o.steps.size(); ++i) {
    c3.push_back(Measure(o, "C3 three cluster instances, " + std::to_string(totals[i]) +
                                " subscribers", three, S * o.steps[i]));
    Print(o, c3.back());
  }
  size_t leader_changes = 0;
  for (auto& n : nodes) leader_changes += n->CountLog("event=price_leader_lost");
  std::printf("\nprice leader changes during the run (price_leader_lost lines): %zu\n",
              leader_changes);
  bool all_ok = base.ok && c1s.ok;
  for (auto& s : c1) all_ok = all_ok && s.ok;
  for (auto& s : c3) all_ok = all_ok && s.ok;
  for (auto& n : nodes) n->Stop();
  nats.Stop();
  db.Drop();

  // ---- summary --------------------------------------------------------------------
  const char* B = "cluster";
  const std::string sS = std::to_string(S) + " subs";
  std::printf("\n== summary (RESULT lines)\n");
  Result(B, sS, "published ticks per pair per s: cluster leader / no cluster (configured " +
                    std::to_string(rate) + ")",
         Fmt("%.2f", c1s.PublishedPerPairPerS(o.pairs)), Fmt("%.2f", base.PublishedPerPairPerS(o.pairs)),
         Ratio(c1s.PublishedPerPairPerS(o.pairs), base.PublishedPerPairPerS(o.pairs)),
         "design: the configured rate", c1s.PublishedPerPairPerS(o.pairs) > 0.95 * rate ? "met" : "MISSED");
  Result(B, sS, "delivered ticks/s aggregate: 1 cluster instance / no cluster",
         Fmt("%.0f", c1s.TicksPerS()), Fmt("%.0f", base.TicksPerS()),
         Ratio(c1s.TicksPerS(), base.TicksPerS()));
  Result(B, sS, "fairness: min/median ticks per subscriber, cluster (baseline no cluster)",
         Fmt("%.2f", Ratio(Min(c1s.ticks), Median(c1s.ticks))),
         Fmt("%.2f", Ratio(Min(base.ticks), Median(base.ticks))), NAN,
         "brief: none starved (> 0.5)",
         Ratio(Min(c1s.ticks), Median(c1s.ticks)) > 0.5 ? "met" : "MISSED");
  Result(B, sS, "serve latency p50/p99 ms (receive_time -> client read)", P(c1s.serve[0]),
         P(base.serve[0]), Ratio(Percentile(c1s.serve[0], 0.99), Percentile(base.serve[0], 0.99)));
  Result(B, sS, "fetch latency p50/p99 ms (leader's fetch -> client read)", P(c1s.fetch[0]),
         P(base.fetch[0]), Ratio(Percentile(c1s.fetch[0], 0.99), Percentile(base.fetch[0], 0.99)));
  Result(B, sS, "NATS hop p50/p99 ms (leader's fetch -> ingest, receive_time - exchange_time)",
         P(c1s.ingest[0]), P(base.ingest[0]), NAN);
  Result(B, sS, "added by the NATS hop p50/p99 ms (fetch latency cluster - no cluster)",
         Fmt("%.1f", Percentile(c1s.fetch[0], 0.5) - Percentile(base.fetch[0], 0.5)) + "/" +
             Fmt("%.1f", Percentile(c1s.fetch[0], 0.99) - Percentile(base.fetch[0], 0.99)),
         "0/0", NAN);
  Result(B, sS, "xctld CPU cores (cluster leader / no cluster)", Fmt("%.2f", c1s.XctldCpu()),
         Fmt("%.2f", base.XctldCpu()), Ratio(c1s.XctldCpu(), base.XctldCpu()));
  if (!c3.empty()) {
    const Step& t = c3[0];
    std::vector<double> fol_fetch, fol_ingest;
    for (int n = 1; n < t.instances; ++n) {
      fol_fetch.insert(fol_fetch.end(), t.fetch[n].begin(), t.fetch[n].end());
      fol_ingest.insert(fol_ingest.end(), t.ingest[n].begin(), t.ingest[n].end());
    }
    const std::string sc = "3x" + std::to_string(S) + " subs";
    Result(B, sc, "fetch latency p50/p99 ms: followers (leader)", P(fol_fetch), P(t.fetch[0]),
           Ratio(Percentile(fol_fetch, 0.99), Percentile(t.fetch[0], 0.99)));
    Result(B, sc, "NATS hop p50/p99 ms on followers (leader)", P(fol_ingest), P(t.ingest[0]), NAN);
    Result(B, sc, "3 instances x S vs 1 instance x S: delivered ticks/s aggregate",
           Fmt("%.0f", t.TicksPerS()), Fmt("%.0f", c1s.TicksPerS()),
           Ratio(t.TicksPerS(), c1s.TicksPerS()), "issue: near-linear, >= 2.5x",
           Ratio(t.TicksPerS(), c1s.TicksPerS()) >= 2.5 ? "met" : "MISSED");
  }
  for (size_t i = 0; i < c3.size() && i < c1.size(); ++i) {
    const Step &a = c3[i], &b = c1[i];
    const std::string sc = std::to_string(totals[i]) + " subs";
    // The ratio can only exceed 1 once one instance falls below the configured
    // rate; while it keeps up, both deliver everything and the ratio is 1.
    const bool saturated = b.DeliveredFraction() < 0.99;
    Result(B, sc, "scale-out: delivered ticks/s aggregate, 3 instances / 1 instance",
           Fmt("%.0f", a.TicksPerS()), Fmt("%.0f", b.TicksPerS()),
           Ratio(a.TicksPerS(), b.TicksPerS()), "issue: >= 2.5x (2 cores: bounded by the machine)",
           !saturated ? "n/a: 1 instance keeps up"
                      : Ratio(a.TicksPerS(), b.TicksPerS()) >= 2.5 ? "met" : "MISSED");
    Result(B, sc, "delivered fraction of published ticks %, 3 instances / 1 instance",
           Fmt("%.1f", 100 * a.DeliveredFraction()), Fmt("%.1f", 100 * b.DeliveredFraction()),
           Ratio(a.DeliveredFraction(), b.DeliveredFraction()), "configured rate (> 99%)",
           a.DeliveredFraction() > 0.99 ? "met" : "MISSED");
    Result(B, sc, "fairness min/median ticks per subscriber, 3 instances / 1 instance",
           Fmt("%.2f", Ratio(Min(a.ticks), Median(a.ticks))),
           Fmt("%.2f", Ratio(Min(b.ticks), Median(b.ticks))), NAN);
    Result(B, sc, "xctld CPU us per delivered tick, 3 instances / 1 instance",
           Fmt("%.2f", 1e6 * a.XctldCpu() * a.window_s / a.SumTicks()),
           Fmt("%.2f", 1e6 * b.XctldCpu() * b.window_s / b.SumTicks()),
           Ratio(a.XctldCpu() * a.window_s / a.SumTicks(), b.XctldCpu() * b.window_s / b.SumTicks()),
           "scales per core: ~1.0");
    Result(B, sc, "CPU cores xctld(s)+nats / client / other, 3 instances (1 instance)",
           Fmt("%.2f", a.XctldCpu() + a.nats_cpu) + "/" + Fmt("%.2f", a.client_cpu) + "/" +
               Fmt("%.2f", a.other_cpu),
           Fmt("%.2f", b.XctldCpu() + b.nats_cpu) + "/" + Fmt("%.2f", b.client_cpu) + "/" +
               Fmt("%.2f", b.other_cpu),
           NAN);
    Result(B, sc, "fetch latency p50/p99 ms, 3 instances (1 instance)", P(a.All(a.fetch)),
           P(b.All(b.fetch)), Ratio(Percentile(a.All(a.fetch), 0.99), Percentile(b.All(b.fetch), 0.99)));
  }
  {
    // Capacity: the largest total served at >= 99% of the published ticks.
    int cap1 = 0, cap3 = 0;
    for (size_t i = 0; i < c1.size(); ++i) if (c1[i].DeliveredFraction() >= 0.99) cap1 = totals[i];
    for (size_t i = 0; i < c3.size(); ++i) if (c3[i].DeliveredFraction() >= 0.99) cap3 = totals[i];
    Result(B, "steps " + Join([&] { std::vector<std::string> v; for (int t : totals) v.push_back(std::to_string(t)); return v; }(), ","),
           "capacity: largest total subscribers served at >= 99% of published, 3 instances / 1",
           std::to_string(cap3), std::to_string(cap1), Ratio(cap3, cap1),
           "issue: >= 2.5x (2 cores: bounded by the machine)");
  }
  Result(B, "run", "price leader changes", std::to_string(leader_changes), "0", NAN, "none",
         leader_changes == 0 ? "met" : "MISSED");
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace xctl::load

int main(int argc, char** argv) { return xctl::load::Main(argc, argv); }
