// Load benchmark: many StreamPrices subscribers plus a steady order flow on a
// real xctld.
//
// Starts xctld (simulated prices, N pairs, one poll every interval, a temp
// SQLite database, a few `external` strategies), opens S concurrent
// StreamPrices streams from this one process with the gRPC callback client
// API (one reactor per stream, no thread per stream, spread over a few
// channels = TCP connections), and places R market orders per second (async
// unary PlaceOrder) under the external strategies. After a warm-up it
// measures for D seconds:
//   - how many ticks the price module really published (from the per-pair
//     tick `sequence`), against the configured interval;
//   - updates and ticks delivered per subscriber (min / median / max), the
//     longest gap between two updates of one subscriber, sequence gaps, the
//     `conflated` counts the server reported against published - received,
//     update latency (tick receive time in xctld to read in the client);
//   - PlaceOrder latency p50 / p99 and errors;
//   - xctld's RSS (VmRSS) at the end of the warm-up and at the end, its slope,
//     and the CPU used by xctld (and its busiest thread, per publication), by
//     this client and by every other process on the machine (noise).
// Then the same run with 1 subscriber (the baseline, same process) and the
// ratios. Figures, not pass/fail.
//
//   load_streams_bench [--xctld=PATH] [--subscribers=1000] [--pairs=100]
//     [--interval-ms=100] [--order-rate=100] [--strategies=4] [--channels=10]
//     [--duration=60] [--warmup=5] [--quick] [--no-baseline] [--keep]
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>

#include "bench/load/load_common.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"

namespace xctl::load {
namespace {

struct Options {
  std::string xctld;
  int subscribers = 1000;
  int pairs = 100;
  int interval_ms = 100;
  double order_rate = 100;
  int strategies = 4;
  int channels = 10;
  double duration_s = 60;
  double warmup_s = 5;
  bool keep = false;
};

// Shared by all readers of one run.
struct Shared {
  std::atomic<bool> measuring{false};
  std::atomic<int> connected{0};   // streams that received their snapshot
  std::atomic<int> ended{0};       // streams that ended (OnDone)
  std::atomic<double> window_start_ms{0};
  int pairs = 0;
};

// "P17-USDT" -> 17 (the benchmark's pair names), -1 otherwise.
int PairIndex(const std::string& pair, int pairs) {
  if (pair.size() < 7 || pair[0] != 'P') return -1;
  int i = std::atoi(pair.c_str() + 1);
  return i >= 0 && i < pairs ? i : -1;
}

// One StreamPrices stream: a callback-API reactor.
class Subscriber final : public grpc::ClientReadReactor<v1::StreamPricesResponse> {
 public:
  Subscriber(v1::PriceFeed::Stub* stub, Shared* shared)
      : shared_(shared), first_seq_(shared->pairs, 0), last_seq_seen_(shared->pairs, 0) {
    stub->async()->StreamPrices(&ctx_, &req_, this);
    StartRead(&msg_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const double now = WallMs();
    if (msg_.sequence() != last_seq_ + 1) ++seq_gaps_;
    last_seq_ = msg_.sequence();
    switch (msg_.payload_case()) {
      case v1::StreamPricesResponse::kSnapshot:
        if (!got_snapshot_) {
          got_snapshot_ = true;
          shared_->connected.fetch_add(1);
        }
        break;
      case v1::StreamPricesResponse::kUpdate: {
        const v1::PriceUpdate& u = msg_.update();
        if (shared_->measuring.load(std::memory_order_relaxed)) {
          updates_.fetch_add(1, std::memory_order_relaxed);
          ticks_.fetch_add(u.ticks_size(), std::memory_order_relaxed);
          conflated_.fetch_add(u.conflated(), std::memory_order_relaxed);
          int64_t newest_ms = 0;
          for (const v1::Tick& t : u.ticks()) {
            // The per-pair sequence counts every change the price module
            // published, whether this stream saw it or not.
            if (int i = PairIndex(t.pair(), shared_->pairs); i >= 0) {
              if (first_seq_[i] == 0) first_seq_[i] = t.sequence();
              last_seq_seen_[i] = t.sequence();
            }
            int64_t ms = t.receive_time().seconds() * 1000 + t.receive_time().nanos() / 1000000;
            newest_ms = std::max(newest_ms, ms);
          }
          // receive_time is truncated to the ms: +0.5 centres the estimate.
          if (latency_.size() < 20000) latency_.push_back(now - (newest_ms + 0.5));
          const double since = last_update_ms_ > 0 ? last_update_ms_
                                                   : shared_->window_start_ms.load();
          max_gap_ms_ = std::max(max_gap_ms_, now - since);
          last_update_ms_ = now;
        }
        break;
      }
      case v1::StreamPricesResponse::kHeartbeat:
        ++heartbeats_;
        break;
      case v1::StreamPricesResponse::kStatus:
        ++statuses_;
        break;
      default:
        break;
    }
    StartRead(&msg_);
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

  // Read after Await (OnDone orders every earlier callback before it).
  uint64_t updates() const { return updates_.load(); }
  uint64_t ticks() const { return ticks_.load(); }
  uint64_t conflated() const { return conflated_.load(); }
  uint64_t seq_gaps() const { return seq_gaps_; }
  uint64_t heartbeats() const { return heartbeats_; }
  uint64_t statuses() const { return statuses_; }
  double max_gap_ms(double window_end_ms) const {
    const double since = last_update_ms_ > 0 ? last_update_ms_ : shared_->window_start_ms.load();
    return std::max(max_gap_ms_, window_end_ms - since);
  }
  const std::vector<double>& latency() const { return latency_; }
  // Ticks the price module published in the window (per-pair sequence
  // deltas, counting the first one seen), and the median per pair.
  uint64_t published() const {
    uint64_t n = 0;
    for (size_t i = 0; i < first_seq_.size(); ++i) {
      if (first_seq_[i]) n += last_seq_seen_[i] - first_seq_[i] + 1;
    }
    return n;
  }
  double published_per_pair() const {
    std::vector<double> v;
    for (size_t i = 0; i < first_seq_.size(); ++i) {
      if (first_seq_[i]) v.push_back(last_seq_seen_[i] - first_seq_[i] + 1);
    }
    return Median(v);
  }
  const grpc::Status& status() const { return status_; }
  bool got_snapshot() const { return got_snapshot_; }

 private:
  Shared* shared_;
  grpc::ClientContext ctx_;
  v1::StreamPricesRequest req_;  // empty: every configured pair
  v1::StreamPricesResponse msg_;
  // Touched only by this stream's callbacks (never concurrent for one reactor).
  uint64_t last_seq_ = 0, seq_gaps_ = 0, heartbeats_ = 0, statuses_ = 0;
  bool got_snapshot_ = false;
  double last_update_ms_ = 0, max_gap_ms_ = 0;
  std::vector<double> latency_;
  std::vector<uint64_t> first_seq_, last_seq_seen_;
  // Read by the main thread for progress.
  std::atomic<uint64_t> updates_{0}, ticks_{0}, conflated_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

// Places market orders at a fixed rate with the async unary API; latency
// from the call to its completion callback.
class OrderFlow {
 public:
  OrderFlow(std::shared_ptr<grpc::Channel> channel, const Options& o, std::string run_tag)
      : stub_(v1::ExchangeControl::NewStub(channel)), o_(o), pairs_(PairNames(o.pairs)),
        tag_(std::move(run_tag)) {}
  ~OrderFlow() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    // Wait (bounded) for the calls still in flight.
    for (int i = 0; i < 3000 && in_flight_.load() > 0; ++i) SleepMs(10);
  }
  void set_measuring(bool m) { measuring_ = m; }

  struct Figures {
    uint64_t sent = 0, ok = 0, failed = 0, skipped = 0;
    std::vector<double> latency_ms;
    std::map<std::string, int> errors;
  };
  Figures figures() {
    std::lock_guard<std::mutex> l(mu_);
    return fig_;
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    v1::PlaceOrderRequest req;
    v1::PlaceOrderResponse resp;
    int64_t t0 = 0;
    bool measured = false;
  };

  void Loop() {
    const int combos = o_.strategies * o_.pairs;
    const double period_ns = 1e9 / o_.order_rate;
    const int64_t start = MonoNs();
    for (uint64_t i = 0; !stop_.load(); ++i) {
      const int64_t due = start + static_cast<int64_t>(i * period_ns);
      const int64_t now = MonoNs();
      if (due > now) SleepMs((due - now) / 1e6);
      if (stop_.load()) break;
      if (in_flight_.load() > 5000) {  // the server stalled: do not pile up
        std::lock_guard<std::mutex> l(mu_);
        if (measuring_) ++fig_.skipped;
        continue;
      }
      // Each (strategy, pair) alternates buy and sell: positions open and
      // close, so margin stays bounded and every order fills.
      const int combo = static_cast<int>(i % combos);
      const bool buy = (i / combos) % 2 == 0;
      auto call = std::make_unique<Call>();
      call->req.set_strategy_id("ext" + std::to_string(combo % o_.strategies));
      call->req.set_symbol(pairs_[combo / o_.strategies]);
      call->req.set_side(buy ? v1::SIDE_BUY : v1::SIDE_SELL);
      call->req.set_type(v1::ORDER_TYPE_MARKET);
      call->req.mutable_quantity()->set_value("1");
      call->req.set_client_order_id(tag_ + std::to_string(i));
      call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      call->measured = measuring_.load();
      call->t0 = MonoNs();
      Call* c = call.release();  // owned by the completion callback below
      in_flight_.fetch_add(1);
      if (c->measured) {
        std::lock_guard<std::mutex> l(mu_);
        ++fig_.sent;
      }
      stub_->async()->PlaceOrder(&c->ctx, &c->req, &c->resp, [this, c](grpc::Status s) {
        std::unique_ptr<Call> own(c);
        const double ms = (MonoNs() - own->t0) / 1e6;
        {
          std::lock_guard<std::mutex> l(mu_);
          if (own->measured) {
            if (s.ok()) {
              ++fig_.ok;
              fig_.latency_ms.push_back(ms);
            } else {
              ++fig_.failed;
              // Grouped by kind: pair names and numbers replaced.
              std::string msg = s.error_message(), key = std::to_string(s.error_code()) + ": ";
              for (size_t i = 0; i < msg.size(); ++i) {
                if (msg[i] == 'P' && i + 1 < msg.size() && std::isdigit(msg[i + 1])) {
                  key += "P*";
                  ++i;
                  while (i + 1 < msg.size() && std::isdigit(msg[i + 1])) ++i;
                } else if (std::isdigit(static_cast<unsigned char>(msg[i]))) {
                  key += "N";
                  while (i + 1 < msg.size() && std::isdigit(msg[i + 1])) ++i;
                } else {
                  key += msg[i];
                }
              }
              if (key.size() > 160) key.resize(160);
              ++fig_.errors[key];
            }
          }
        }
        in_flight_.fetch_sub(1);
      });
    }
  }

  std::unique_ptr<v1::ExchangeControl::Stub> stub_;
  const Options o_;
  const std::vector<std::string> pairs_;
  const std::string tag_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, measuring_{false};
  std::atomic<int> in_flight_{0};
  std::mutex mu_;
  Figures fig_;
};

struct RunResult {
  int subscribers = 0;
  bool ok = false;
  double window_s = 0;
  double startup_s = 0;
  std::vector<double> updates, ticks, conflated, max_gap_ms, published, missed;
  double publications_per_pair = 0;  // price module publications in the window
  std::vector<double> update_latency_ms;
  uint64_t seq_gaps = 0, heartbeats = 0, ended_early = 0;
  OrderFlow::Figures orders;
  long rss_start_kb = 0, rss_warm_kb = 0, rss_end_kb = 0, rss_peak_kb = 0;
  double rss_slope_kb_per_s = 0;
  std::string rss_trajectory;  // MB every ~10 s of the window
  double xctld_cpu = 0, client_cpu = 0;  // cores used during the window
  double other_cpu = 0;                   // by every other process on the machine
  std::string top_threads;                // xctld's busiest threads
  double busiest_cores = 0;               // the busiest one (the price poll thread)
  long threads = 0;
  double connect_s = 0;
};

std::string Config(const Options& o) {
  std::string pairs = "[" + Join(PairNames(o.pairs), ", ") + "]";
  std::string y = InstrumentsYaml(PairNames(o.pairs)) +
      "log_level: warn\n"
      "price:\n"
      "  source: simulated\n"
      "strategies:\n";
  for (int i = 0; i < o.strategies; ++i) {
    y += "  - id: ext" + std::to_string(i) + "\n    type: external\n    pairs: " + pairs +
         "\n    starting_balance: \"1000000\"\n";
  }
  return y;
}

RunResult Run(const Options& o, int subscribers) {
  RunResult r;
  r.subscribers = subscribers;
  TempDir dir("xctl-load-streams", o.keep);
  std::ofstream(dir / "config.yaml") << Config(o);
  Xctld xctld;
  if (!xctld.Start(o.xctld,
                   {"--config=" + (dir / "config.yaml"), "--db=sqlite:" + (dir / "xctl.db"),
                    "--listen=127.0.0.1:0", "--pairs=" + Join(PairNames(o.pairs), ","),
                    "--price-interval-ms=" + std::to_string(o.interval_ms)},
                   dir.path())) {
    return r;
  }
  r.startup_s = xctld.startup_s();
  r.rss_start_kb = xctld.RssKb();

  // Channels (TCP connections) that do not share a subchannel.
  const int channels = std::max(1, std::min(o.channels, subscribers));
  std::vector<std::shared_ptr<grpc::Channel>> chans;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("xctl.load.channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    chans.push_back(
        grpc::CreateCustomChannel(xctld.address(), grpc::InsecureChannelCredentials(), args));
  }
  std::vector<std::unique_ptr<v1::PriceFeed::Stub>> stubs;
  for (auto& c : chans) stubs.push_back(v1::PriceFeed::NewStub(c));

  Shared shared;
  shared.pairs = o.pairs;
  std::vector<std::unique_ptr<Subscriber>> subs;
  const int64_t c0 = MonoNs();
  for (int i = 0; i < subscribers; ++i) {
    subs.push_back(std::make_unique<Subscriber>(stubs[i % channels].get(), &shared));
  }
  while (shared.connected.load() < subscribers && (MonoNs() - c0) / 1e9 < 120 &&
         shared.ended.load() == 0) {
    SleepMs(20);
  }
  r.connect_s = (MonoNs() - c0) / 1e9;
  std::printf("  %d streams connected in %.2f s (%d ended)\n", shared.connected.load(),
              r.connect_s, shared.ended.load());

  // A separate connection for the orders, like a separate client.
  grpc::ChannelArguments oargs;
  oargs.SetInt("xctl.load.channel", -1);
  oargs.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  OrderFlow orders(
      grpc::CreateCustomChannel(xctld.address(), grpc::InsecureChannelCredentials(), oargs), o,
      "L" + std::to_string(subscribers) + "x");
  ProcSampler sampler(xctld.pid(), 1000);
  sampler.Start();
  orders.Start();
  SleepMs(o.warmup_s * 1000);

  // Measurement window.
  r.rss_warm_kb = xctld.RssKb();
  const double cpu0 = xctld.CpuSeconds(), self0 = SelfCpuSeconds();
  const double busy0 = MachineBusySeconds();
  const auto threads0 = ThreadCpu(xctld.pid());
  const int64_t w0 = MonoNs();
  shared.window_start_ms = WallMs();
  shared.measuring = true;
  orders.set_measuring(true);
  for (double t = 0; t < o.duration_s; t += 1) {
    SleepMs(std::min(1.0, o.duration_s - t) * 1000);
    if (!xctld.alive()) {
      std::fprintf(stderr, "xctld died during the run; log tail:\n%s\n", xctld.Tail(30).c_str());
      break;
    }
  }
  orders.set_measuring(false);
  shared.measuring = false;
  const double window_end_ms = WallMs();
  r.window_s = (MonoNs() - w0) / 1e9;
  r.xctld_cpu = (xctld.CpuSeconds() - cpu0) / r.window_s;
  r.client_cpu = (SelfCpuSeconds() - self0) / r.window_s;
  r.other_cpu = (MachineBusySeconds() - busy0) / r.window_s - r.xctld_cpu - r.client_cpu;
  const auto threads1 = ThreadCpu(xctld.pid());
  r.top_threads = TopThreads(threads0, threads1, r.window_s, 3);
  r.busiest_cores = BusiestThread(threads0, threads1, r.window_s).second;
  r.rss_end_kb = xctld.RssKb();
  r.rss_peak_kb = xctld.PeakRssKb();
  r.threads = xctld.Threads();
  sampler.Stop();
  {
    // RSS slope over the window (samples taken after the warm-up).
    std::vector<double> t, kb;
    const double sampler_offset = o.warmup_s;  // the sampler started with the warm-up
    double next = sampler_offset;
    for (const auto& s : sampler.samples()) {
      if (s.t_s >= sampler_offset) t.push_back(s.t_s), kb.push_back(s.rss_kb);
      if (s.t_s >= next) {
        r.rss_trajectory += Fmt(r.rss_trajectory.empty() ? "%.1f" : " %.1f", s.rss_kb / 1024.0);
        next += 10;
      }
    }
    r.rss_slope_kb_per_s = Slope(t, kb);
  }
  orders.Stop();
  r.orders = orders.figures();

  for (auto& s : subs) s->Cancel();
  for (auto& s : subs) s->Await();
  for (auto& s : subs) {
    r.updates.push_back(s->updates());
    r.ticks.push_back(s->ticks());
    r.conflated.push_back(s->conflated());
    r.published.push_back(s->published());
    r.missed.push_back(static_cast<double>(s->published()) - s->ticks());
    r.max_gap_ms.push_back(s->max_gap_ms(window_end_ms));
    r.seq_gaps += s->seq_gaps();
    r.heartbeats += s->heartbeats();
    if (s->status().error_code() != grpc::StatusCode::CANCELLED) ++r.ended_early;
    const auto& l = s->latency();
    r.update_latency_ms.insert(r.update_latency_ms.end(), l.begin(), l.end());
  }
  {
    std::vector<double> per_pair;
    for (auto& s : subs) per_pair.push_back(s->published_per_pair());
    r.publications_per_pair = Max(per_pair);
  }
  r.ok = xctld.alive();
  double stop_s = xctld.Stop();
  std::printf("  xctld stopped in %.2f s\n", stop_s);
  return r;
}

void Print(const Options& o, const RunResult& r) {
  const double polls = r.window_s * 1000.0 / o.interval_ms;
  const double published = Max(r.published);
  std::printf("\n-- %d subscriber(s): window %.1f s = %.0f intervals; the price module "
              "published %.0f ticks per pair (%.1f/s, configured %.1f/s)%s\n",
              r.subscribers, r.window_s, polls, r.publications_per_pair,
              r.publications_per_pair / r.window_s, 1000.0 / o.interval_ms,
              r.ok ? "" : "  [xctld NOT alive]");
  std::printf("  updates/subscriber   min %.0f  median %.0f  max %.0f   (intervals %.0f)\n",
              Min(r.updates), Median(r.updates), Max(r.updates), polls);
  std::printf("  ticks/subscriber     min %.0f  median %.0f  max %.0f   (published %.0f = "
              "%.0f%% of the configured rate; received %.1f%% .. %.1f%% of published)\n",
              Min(r.ticks), Median(r.ticks), Max(r.ticks), published,
              100 * published / (polls * o.pairs), 100 * Min(r.ticks) / published,
              100 * Max(r.ticks) / published);
  double conflated_total = 0;
  for (double c : r.conflated) conflated_total += c;
  std::printf("  conflated/subscriber as reported by the server: min %.0f  median %.0f  max "
              "%.0f (total %.0f); published - received: min %.0f  median %.0f  max %.0f\n",
              Min(r.conflated), Median(r.conflated), Max(r.conflated), conflated_total,
              Min(r.missed), Median(r.missed), Max(r.missed));
  std::printf("  longest gap between updates of one subscriber: median %.0f ms, max %.0f ms\n",
              Median(r.max_gap_ms), Max(r.max_gap_ms));
  std::printf("  update latency (tick received by xctld -> read by client): p50 %.1f ms, "
              "p99 %.1f ms, max %.1f ms (%zu samples)\n",
              Percentile(r.update_latency_ms, 0.5), Percentile(r.update_latency_ms, 0.99),
              Max(r.update_latency_ms), r.update_latency_ms.size());
  std::printf("  sequence gaps %llu, streams ended early %llu, heartbeats %llu\n",
              (unsigned long long)r.seq_gaps, (unsigned long long)r.ended_early,
              (unsigned long long)r.heartbeats);
  std::printf("  orders: sent %llu, ok %llu, failed %llu, skipped %llu (%.1f/s ok); latency "
              "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              (unsigned long long)r.orders.sent, (unsigned long long)r.orders.ok,
              (unsigned long long)r.orders.failed, (unsigned long long)r.orders.skipped,
              r.orders.ok / r.window_s, Percentile(r.orders.latency_ms, 0.5),
              Percentile(r.orders.latency_ms, 0.99), Max(r.orders.latency_ms));
  for (const auto& [e, n] : r.orders.errors) std::printf("    %d x %s\n", n, e.c_str());
  std::printf("  xctld RSS: start %.1f MB, warm-up end %.1f MB, end %.1f MB (growth %+.1f MB, "
              "%+.1f%%; slope %+.1f kB/s), peak %.1f MB; %ld threads\n",
              r.rss_start_kb / 1024.0, r.rss_warm_kb / 1024.0, r.rss_end_kb / 1024.0,
              (r.rss_end_kb - r.rss_warm_kb) / 1024.0,
              100.0 * (r.rss_end_kb - r.rss_warm_kb) / std::max(1L, r.rss_warm_kb),
              r.rss_slope_kb_per_s, r.rss_peak_kb / 1024.0, r.threads);
  std::printf("  xctld RSS every 10 s of the window (MB): %s\n", r.rss_trajectory.c_str());
  std::printf("  busiest xctld thread: %.2f cores = %.1f ms CPU per price publication (the "
              "interval is %d ms)\n",
              r.busiest_cores, r.busiest_cores * r.window_s * 1000 / r.publications_per_pair,
              o.interval_ms);
  std::printf("  CPU during the window: xctld %.2f cores (busiest threads: %s), this client "
              "%.2f cores, other processes %.2f cores; xctld startup %.2f s, streams connected "
              "in %.2f s\n",
              r.xctld_cpu, r.top_threads.c_str(), r.client_cpu, r.other_cpu, r.startup_s,
              r.connect_s);
}

int Main(int argc, char** argv) {
  Flags f(argc, argv);
  Options o;
  o.xctld = FindXctld(f);
  const bool quick = f.Bool("quick");
  o.subscribers = f.Int("subscribers", 1000);
  o.pairs = f.Int("pairs", 100);
  o.interval_ms = f.Int("interval-ms", 100);
  o.order_rate = f.Num("order-rate", 100);
  o.strategies = f.Int("strategies", 4);
  o.channels = f.Int("channels", 10);
  o.duration_s = f.Num("duration", quick ? 10 : 60);
  o.warmup_s = f.Num("warmup", quick ? 3 : 5);
  o.keep = f.Bool("keep");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("load_streams_bench: %s\n", MachineLine().c_str());
  std::printf("xctld %s; %d pairs, interval %d ms, %d subscribers over %d connections, "
              "%.0f orders/s under %d external strategies; warm-up %.0f s, window %.0f s; "
              "load average %.2f\n",
              o.xctld.c_str(), o.pairs, o.interval_ms, o.subscribers, o.channels, o.order_rate,
              o.strategies, o.warmup_s, o.duration_s, LoadAverage1());

  std::printf("\n== scenario: %d subscribers\n", o.subscribers);
  RunResult load = Run(o, o.subscribers);
  if (load.updates.empty()) return 1;
  Print(o, load);
  RunResult base;
  if (!f.Bool("no-baseline")) {
    std::printf("\n== baseline: 1 subscriber, same orders\n");
    base = Run(o, 1);
    if (!base.updates.empty()) Print(o, base);
  }

  // Summary and ratios.
  const double polls = load.window_s * 1000.0 / o.interval_ms;
  const double offered = polls * o.pairs;
  const double base_ticks_per_s = base.updates.empty() ? NAN : Median(base.ticks) / base.window_s;
  const double load_min_per_s = Min(load.ticks) / load.window_s;
  const double load_med_per_s = Median(load.ticks) / load.window_s;
  const double p99 = Percentile(load.orders.latency_ms, 0.99);
  const double bp99 = Percentile(base.orders.latency_ms, 0.99);
  const double p50 = Percentile(load.orders.latency_ms, 0.5);
  const double bp50 = Percentile(base.orders.latency_ms, 0.5);
  const std::string sc = std::to_string(o.subscribers) + " subs";
  std::printf("\n== summary (%d subscribers vs 1)\n", o.subscribers);
  std::printf("  ticks/s per subscriber: median %.0f, min %.0f vs baseline %.0f -> ratio %.2f "
              "(min %.2f); configured rate %.0f/s\n",
              load_med_per_s, load_min_per_s, base_ticks_per_s,
              Ratio(load_med_per_s, base_ticks_per_s), Ratio(load_min_per_s, base_ticks_per_s),
              offered / load.window_s);
  std::printf("  order latency p50 %.2f ms vs %.2f ms (ratio %.2f), p99 %.2f ms vs %.2f ms "
              "(ratio %.2f)\n",
              p50, bp50, Ratio(p50, bp50), p99, bp99, Ratio(p99, bp99));
  std::printf("  xctld RSS growth over the window: %+.1f MB (%+.1f%%), baseline %+.1f MB\n",
              (load.rss_end_kb - load.rss_warm_kb) / 1024.0,
              100.0 * (load.rss_end_kb - load.rss_warm_kb) / std::max(1L, load.rss_warm_kb),
              (base.rss_end_kb - base.rss_warm_kb) / 1024.0);

  Result("streams", sc, "price publications per pair per s (configured " +
             Fmt("%.0f", 1000.0 / o.interval_ms) + ")",
         Fmt("%.2f", load.publications_per_pair / load.window_s),
         Fmt("%.2f", base.publications_per_pair / base.window_s),
         Ratio(load.publications_per_pair / load.window_s,
               base.publications_per_pair / base.window_s),
         "design: the configured rate whatever the subscribers",
         load.publications_per_pair / load.window_s > 0.95 * 1000.0 / o.interval_ms ? "met"
                                                                                      : "MISSED");
  const bool none_starved = Min(load.ticks) > 0.5 * Median(load.ticks);
  Result("streams", sc, "ticks/s per subscriber (median)", Fmt("%.0f", load_med_per_s),
         Fmt("%.0f", base_ticks_per_s), Ratio(load_med_per_s, base_ticks_per_s));
  Result("streams", sc, "ticks/s per subscriber (min)", Fmt("%.0f", load_min_per_s),
         Fmt("%.0f", base_ticks_per_s), Ratio(load_min_per_s, base_ticks_per_s),
         "brief: none starved (min > 50% of median)", none_starved ? "met" : "MISSED");
  Result("streams", sc, "updates per subscriber min/med/max",
         Fmt("%.0f", Min(load.updates)) + "/" + Fmt("%.0f", Median(load.updates)) + "/" +
             Fmt("%.0f", Max(load.updates)),
         base.updates.empty() ? "-" : Fmt("%.0f", Median(base.updates)),
         Ratio(Median(load.updates) / load.window_s,
               base.updates.empty() ? NAN : Median(base.updates) / base.window_s));
  Result("streams", sc, "conflated per subscriber: reported / published-received (median)",
         Fmt("%.0f", Median(load.conflated)) + " / " + Fmt("%.0f", Median(load.missed)),
         Fmt("%.0f", Median(base.conflated)) + " / " + Fmt("%.0f", Median(base.missed)), NAN,
         "API: reported = published - received",
         std::abs(Median(load.conflated) - Median(load.missed)) <= 0.01 * Median(load.published) + 1
             ? "met"
             : "MISSED");
  Result("streams", sc, "update latency p50/p99 ms",
         Fmt("%.1f", Percentile(load.update_latency_ms, 0.5)) + "/" +
             Fmt("%.1f", Percentile(load.update_latency_ms, 0.99)),
         Fmt("%.1f", Percentile(base.update_latency_ms, 0.5)) + "/" +
             Fmt("%.1f", Percentile(base.update_latency_ms, 0.99)),
         Ratio(Percentile(load.update_latency_ms, 0.99), Percentile(base.update_latency_ms, 0.99)));
  Result("streams", sc, "order latency p50 ms", Fmt("%.2f", p50), Fmt("%.2f", bp50),
         Ratio(p50, bp50));
  Result("streams", sc, "order latency p99 ms", Fmt("%.2f", p99), Fmt("%.2f", bp99),
         Ratio(p99, bp99));
  Result("streams", sc, "orders ok/failed", Fmt("%.0f", load.orders.ok) + "/" +
         Fmt("%.0f", load.orders.failed), Fmt("%.0f", base.orders.ok) + "/" +
         Fmt("%.0f", base.orders.failed), NAN, "all ok",
         load.orders.failed == 0 && load.orders.skipped == 0 ? "met" : "MISSED");
  const double growth = 100.0 * (load.rss_end_kb - load.rss_warm_kb) / std::max(1L, load.rss_warm_kb);
  Result("streams", sc, "xctld RSS warm-up end -> end MB",
         Fmt("%.1f", load.rss_warm_kb / 1024.0) + " -> " + Fmt("%.1f", load.rss_end_kb / 1024.0) +
             " (" + Fmt("%+.1f%%", growth) + ")",
         Fmt("%.1f", base.rss_warm_kb / 1024.0) + " -> " + Fmt("%.1f", base.rss_end_kb / 1024.0),
         Ratio(load.rss_end_kb, base.rss_end_kb), "brief: flat (growth < 5%)",
         std::abs(growth) < 5 ? "met" : "MISSED");
  if (!base.updates.empty() && o.subscribers > 1) {
    Result("streams", sc, "xctld RSS per open stream kB",
           Fmt("%.0f", static_cast<double>(load.rss_warm_kb - base.rss_warm_kb) /
                           (o.subscribers - 1)),
           "-", NAN);
  }
  Result("streams", sc, "busiest xctld thread: CPU ms per publication",
         Fmt("%.1f", load.busiest_cores * load.window_s * 1000 / load.publications_per_pair),
         Fmt("%.1f", base.busiest_cores * base.window_s * 1000 / base.publications_per_pair),
         Ratio(load.busiest_cores / load.publications_per_pair,
               base.busiest_cores / base.publications_per_pair),
         "design: < interval (" + std::to_string(o.interval_ms) + " ms)",
         load.busiest_cores * load.window_s * 1000 / load.publications_per_pair < o.interval_ms
             ? "met"
             : "MISSED");
  Result("streams", sc, "other processes' CPU cores (machine noise)", Fmt("%.2f", load.other_cpu),
         Fmt("%.2f", base.other_cpu), NAN);
  Result("streams", sc, "xctld CPU cores", Fmt("%.2f", load.xctld_cpu),
         Fmt("%.2f", base.xctld_cpu), Ratio(load.xctld_cpu, base.xctld_cpu));
  return load.ok ? 0 : 1;
}

}  // namespace
}  // namespace xctl::load

int main(int argc, char** argv) { return xctl::load::Main(argc, argv); }
