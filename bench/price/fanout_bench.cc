// Price fan-out benchmark. For 1, 100 and 1,000 subscribers it measures, in
// one run:
//   in-process: the PriceModule bus (Ingest -> callback subscribers) against
//     a baseline that calls the same callbacks directly with the same batch;
//   gRPC: PriceFeed.StreamPrices over loopback against a baseline bare
//     callback-API server streaming prebuilt messages of the same size to the
//     same number of clients, both driven at the same batch rate.
// It prints updates/s, p50/p99 tick-to-subscriber latency and the ratios.
// Not a test: nothing here passes or fails.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/api/convert.h"
#include "server/api/price_feed_service.h"
#include "server/price/price_module.h"
#include "spdlog/spdlog.h"

namespace xctl::bench {
namespace {

using Clock = std::chrono::steady_clock;
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

constexpr int kPairs = 100;
constexpr size_t kMaxBatches = 1 << 20;
// Send time of batch k, indexed by the tick sequence number (same process).
std::vector<std::atomic<int64_t>> g_sent(kMaxBatches);

std::vector<std::string> Pairs() {
  std::vector<std::string> p;
  for (int i = 0; i < kPairs; ++i) p.push_back("P" + std::to_string(i) + "-USDT");
  return p;
}

std::vector<Tick> Batch(const std::vector<std::string>& pairs, int k) {
  std::vector<Tick> ticks;
  for (const auto& p : pairs) {
    Tick t;
    t.pair = p;
    t.last = Decimal::FromInt(1000 + k % 1000);
    t.bid = t.last - Decimal::FromInt(1);
    t.ask = t.last + Decimal::FromInt(1);
    ticks.push_back(t);
  }
  return ticks;
}

class NullSource : public PriceSource {
 public:
  absl::string_view name() const override { return "bench"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>&) override {
    return std::vector<Tick>();
  }
};

// Latencies in ns, merged across threads.
class Latencies {
 public:
  void Add(int64_t ns) {
    absl::MutexLock l(&mu_);
    if (v_.size() < 2'000'000) v_.push_back(ns);
  }
  double Percentile(double p) {
    absl::MutexLock l(&mu_);
    if (v_.empty()) return 0;
    std::sort(v_.begin(), v_.end());
    return v_[std::min(v_.size() - 1, static_cast<size_t>(p * v_.size()))] / 1e6;
  }

 private:
  absl::Mutex mu_;
  std::vector<int64_t> v_;
};

struct Result {
  double updates_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

// What every subscriber does with a batch, in both the bus and the baseline:
// reads every tick (so the comparison is per delivered tick, not per call).
std::atomic<int64_t> g_sink{0};
uint64_t Consume(const std::vector<TickPtr>& ticks) {
  int64_t sum = 0;
  for (const TickPtr& t : ticks) {
    sum += static_cast<int64_t>(t->last.units() + t->bid->units());
  }
  g_sink.fetch_add(sum, std::memory_order_relaxed);
  return ticks.size();
}

PriceConfig Config() {
  PriceConfig c;
  c.pairs = Pairs();
  c.interval_ms = 1000;
  c.stale_after_intervals = 1000;
  return c;
}

// ---- in-process -------------------------------------------------------------

Result InProcessBus(int subscribers, absl::Duration duration) {
  PriceModule module(Config(), std::make_unique<NullSource>());
  std::atomic<uint64_t> delivered{0};
  Latencies lat;
  std::vector<std::unique_ptr<Subscription>> subs;
  for (int i = 0; i < subscribers; ++i) {
    subs.push_back(module.SubscribeCallback({}, [&](const std::vector<TickPtr>& ticks) {
      int64_t now = NowNs();
      delivered += Consume(ticks);
      lat.Add(now - g_sent[ticks.back()->sequence % kMaxBatches].load());
    }));
  }
  auto pairs = Pairs();
  absl::Time end = absl::Now() + duration;
  int k = 1;
  absl::Time start = absl::Now();
  while (absl::Now() < end) {
    g_sent[k % kMaxBatches] = NowNs();
    module.Ingest(Batch(pairs, k));
    ++k;
  }
  double secs = absl::ToDoubleSeconds(absl::Now() - start);
  subs.clear();
  return {delivered / secs, lat.Percentile(0.5), lat.Percentile(0.99)};
}

Result InProcessDirect(int subscribers, absl::Duration duration) {
  // The same work without the bus: every callback called in turn with the
  // same shared batch on the publishing thread.
  std::atomic<uint64_t> delivered{0};
  std::vector<std::function<void(const std::vector<TickPtr>&)>> callbacks(
      subscribers, [&](const std::vector<TickPtr>& ticks) { delivered += Consume(ticks); });
  auto pairs = Pairs();
  absl::Time end = absl::Now() + duration;
  absl::Time start = absl::Now();
  int k = 1;
  while (absl::Now() < end) {
    std::vector<TickPtr> batch;
    for (Tick& t : Batch(pairs, k++)) batch.push_back(std::make_shared<const Tick>(std::move(t)));
    for (auto& cb : callbacks) cb(batch);
  }
  double secs = absl::ToDoubleSeconds(absl::Now() - start);
  return {delivered / secs, 0, 0};
}

// ---- gRPC ---------------------------------------------------------------------

// Client side: one callback-API reader per stream, counting ticks.
class Reader : public grpc::ClientReadReactor<v1::StreamPricesResponse> {
 public:
  Reader(v1::PriceFeed::Stub* stub, std::atomic<uint64_t>* delivered, Latencies* lat)
      : delivered_(delivered), lat_(lat) {
    stub->async()->StreamPrices(&ctx_, &req_, this);
    StartRead(&msg_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    int64_t now = NowNs();
    // Updates only: the snapshot holds ticks published before the run.
    const auto& ticks = msg_.update().ticks();
    if (msg_.has_update() && !ticks.empty()) {
      *delivered_ += ticks.size();
      lat_->Add(now - g_sent[ticks.rbegin()->sequence() % kMaxBatches].load());
    }
    StartRead(&msg_);
  }
  void OnDone(const grpc::Status&) override {
    absl::MutexLock l(&mu_);
    done_ = true;
  }
  void Cancel() { ctx_.TryCancel(); }
  void Await() {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

 private:
  grpc::ClientContext ctx_;
  v1::StreamPricesRequest req_;
  v1::StreamPricesResponse msg_;
  std::atomic<uint64_t>* delivered_;
  Latencies* lat_;
  absl::Mutex mu_;
  bool done_ = false;
};

// Baseline server: streams a prebuilt 100-tick message; at each batch it
// writes to every stream that has no write in flight (the others skip it).
class BareStream;
class BareService final : public v1::PriceFeed::CallbackService {
 public:
  explicit BareService(const v1::StreamPricesResponse& prebuilt) : prebuilt_(prebuilt) {}
  grpc::ServerWriteReactor<v1::StreamPricesResponse>* StreamPrices(
      grpc::CallbackServerContext*, const v1::StreamPricesRequest*) override;
  void Publish(uint64_t seq);
  void Remove(BareStream* s) {
    absl::MutexLock l(&mu_);
    streams_.erase(std::remove(streams_.begin(), streams_.end(), s), streams_.end());
  }
  size_t size() {
    absl::MutexLock l(&mu_);
    return streams_.size();
  }
  const v1::StreamPricesResponse& prebuilt_;
  absl::Mutex mu_;
  std::vector<BareStream*> streams_;
};

class BareStream final : public grpc::ServerWriteReactor<v1::StreamPricesResponse> {
 public:
  explicit BareStream(BareService* svc) : svc_(svc) {}
  void Offer(uint64_t seq) {
    absl::MutexLock l(&mu_);
    if (busy_ || done_) return;
    busy_ = true;
    msg_ = svc_->prebuilt_;
    // The baseline message carries the batch number so clients can time it.
    for (auto& t : *msg_.mutable_update()->mutable_ticks()) t.set_sequence(seq);
    StartWrite(&msg_);
  }
  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&mu_);
    busy_ = false;
    if (!ok && !done_) {
      done_ = true;
      Finish(grpc::Status::CANCELLED);
    }
  }
  void OnCancel() override {
    absl::MutexLock l(&mu_);
    if (!done_) {
      done_ = true;
      Finish(grpc::Status::CANCELLED);
    }
  }
  void OnDone() override {
    svc_->Remove(this);
    delete this;
  }

 private:
  BareService* svc_;
  absl::Mutex mu_;
  v1::StreamPricesResponse msg_;
  bool busy_ = false, done_ = false;
};

grpc::ServerWriteReactor<v1::StreamPricesResponse>* BareService::StreamPrices(
    grpc::CallbackServerContext*, const v1::StreamPricesRequest*) {
  auto* s = new BareStream(this);
  absl::MutexLock l(&mu_);
  streams_.push_back(s);
  return s;
}

void BareService::Publish(uint64_t seq) {
  std::vector<BareStream*> copy;
  {
    absl::MutexLock l(&mu_);
    copy = streams_;
  }
  for (auto* s : copy) s->Offer(seq);
}

Result OverGrpc(bool baseline, int clients, int rate_hz, absl::Duration duration) {
  auto pairs = Pairs();
  std::unique_ptr<PriceModule> module;
  std::unique_ptr<api::PriceFeedService> xctl_service;
  v1::StreamPricesResponse prebuilt;
  for (const Tick& t : Batch(pairs, 1)) api::ToProto(t, prebuilt.mutable_update()->add_ticks());
  BareService bare(prebuilt);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  if (baseline) {
    builder.RegisterService(&bare);
  } else {
    module = std::make_unique<PriceModule>(Config(), std::make_unique<NullSource>());
    module->Ingest(Batch(pairs, 0));
    xctl_service = std::make_unique<api::PriceFeedService>(*module);
    builder.RegisterService(xctl_service.get());
  }
  auto server = builder.BuildAndStart();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::PriceFeed::NewStub(channel);
  std::atomic<uint64_t> delivered{0};
  Latencies lat;
  std::vector<std::unique_ptr<Reader>> readers;
  for (int i = 0; i < clients; ++i) readers.push_back(std::make_unique<Reader>(stub.get(), &delivered, &lat));
  // Wait until every stream is connected.
  for (int i = 0; i < 500; ++i) {
    size_t n = baseline ? bare.size() : module->subscriber_count();
    if (n >= static_cast<size_t>(clients)) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(absl::Milliseconds(100));
  delivered = 0;
  absl::Time start = absl::Now();
  absl::Time next = start;
  absl::Duration period = absl::Seconds(1) / rate_hz;
  uint64_t k = 1;
  while (absl::Now() < start + duration) {
    ++k;
    g_sent[k % kMaxBatches] = NowNs();
    if (baseline) {
      bare.Publish(k);
    } else {
      // Ticks get per-pair sequence k (each batch changes every pair once).
      module->Ingest(Batch(pairs, static_cast<int>(k)));
    }
    next += period;
    absl::SleepFor(next - absl::Now());
  }
  double secs = absl::ToDoubleSeconds(absl::Now() - start);
  Result r{delivered / secs, lat.Percentile(0.5), lat.Percentile(0.99)};
  for (auto& rd : readers) rd->Cancel();
  for (auto& rd : readers) rd->Await();
  if (xctl_service) xctl_service->Shutdown();
  server->Shutdown();
  server->Wait();
  return r;
}

}  // namespace
}  // namespace xctl::bench

int main(int argc, char** argv) {
  using namespace xctl::bench;
  spdlog::set_level(spdlog::level::warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  absl::Duration d = absl::Seconds(seconds);
  std::printf("price fan-out benchmark: %d pairs per batch, %.1f s per scenario, %u cores\n",
              kPairs, seconds, std::thread::hardware_concurrency());
  std::printf("\n== in-process: PriceModule bus vs direct callback calls (max rate)\n");
  std::printf("%12s %16s %16s %8s %10s %10s\n", "subscribers", "bus ticks/s", "direct ticks/s",
              "ratio", "p50 ms", "p99 ms");
  for (int n : {1, 100, 1000}) {
    Result bus = InProcessBus(n, d);
    Result direct = InProcessDirect(n, d);
    std::printf("%12d %16.0f %16.0f %8.2f %10.3f %10.3f\n", n, bus.updates_per_s,
                direct.updates_per_s, bus.updates_per_s / direct.updates_per_s, bus.p50_ms,
                bus.p99_ms);
  }
  constexpr int kRate = 100;
  std::printf("\n== gRPC over loopback: StreamPrices vs bare streaming of prebuilt messages "
              "(%d batches/s of %d ticks)\n", kRate, kPairs);
  std::printf("%12s %16s %16s %8s %10s %10s %10s %10s\n", "clients", "xctl ticks/s",
              "bare ticks/s", "ratio", "xctl p50", "xctl p99", "bare p50", "bare p99");
  for (int n : {1, 100, 1000}) {
    Result bare = OverGrpc(true, n, kRate, d);
    Result xctl = OverGrpc(false, n, kRate, d);
    std::printf("%12d %16.0f %16.0f %8.2f %10.3f %10.3f %10.3f %10.3f\n", n, xctl.updates_per_s,
                bare.updates_per_s, xctl.updates_per_s / bare.updates_per_s, xctl.p50_ms,
                xctl.p99_ms, bare.p50_ms, bare.p99_ms);
  }
  std::printf("\nticks/s = price updates delivered to all subscribers per second; latency = "
              "from publish to the subscriber's callback / client read (ms).\n");
  return 0;
}
