// Load benchmark: 10,000 open paper positions.
//
// The product keeps at most one open position per (strategy, symbol) (unique
// index positions_one_open), so 10,000 open positions are laid out two ways:
//   by-strategy: 10,000 external strategies x 1 position, all on BTC-USDT:
//                one tick of one pair re-marks all 10,000;
//   by-pair:     100 external strategies x 100 pairs (P0-USDT..P99-USDT):
//                one tick batch of the 100 pairs re-marks all 10,000.
// For each layout, against a baseline of 100 positions in the same layout:
//  1. in process (links xctl_control, like bench/control/mark_bench.cc): the
//     positions are opened through OrderRouter::PlaceOrder on a SQLite
//     store (by --seed-threads threads, as concurrent clients), then the time of one tick batch through OnTicks +
//     ProcessPendingTicks (exchanges' OnTick, marks, KPIs of every scope,
//     publication), without and with a feed subscriber that drains after
//     every tick (as an open StreamPositions does). Target: < 5 ms.
//  2. over gRPC against a real xctld started on that database: ListPositions
//     of every open position, page_size 1000, following next_page_token.
//     Target: < 50 ms. xctld runs twice: quiet (price interval 1 h, the
//     listing alone) and with 100 ms simulated ticks (the listing competing
//     with the control worker, and the CPU xctld spends per tick marking,
//     from /proc). Also: xctld start-up with that many strategies, RSS, and
//     the CPU per listing of xctld and of this client.
// Figures, not pass/fail.
//
//   load_positions_bench [--xctld=PATH] [--positions=10000] [--baseline=100]
//     [--ticks=50] [--list-rounds=10] [--layout=both|by-strategy|by-pair]
//     [--ticking=0|1] [--cpu-window=5] [--seed-threads=8] [--quick] [--keep]
// --quick: 10 ticks, 3 list rounds, no second xctld with 100 ms ticks (still
// 10,000 positions: the size is the point of this benchmark).
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bench/load/load_common.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "server/model/ledger.h"
#include "spdlog/spdlog.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl::load {
namespace {

class Prices : public PriceView {
 public:
  TickPtr Set(const std::string& pair, int64_t units) {
    auto t = std::make_shared<Tick>();
    t->pair = pair;
    t->last = Decimal::FromUnits(units);
    t->bid = t->last;
    t->ask = t->last;
    t->receive_time_ms = static_cast<int64_t>(WallMs());
    t->sequence = ++seq_[pair];
    ticks_[pair] = t;
    return t;
  }
  TickPtr Latest(absl::string_view pair) const override {
    auto it = ticks_.find(std::string(pair));
    return it == ticks_.end() ? nullptr : it->second;
  }

 private:
  std::map<std::string, TickPtr> ticks_;
  std::map<std::string, uint64_t> seq_;
};

struct Layout {
  std::string name;
  int strategies;
  std::vector<std::string> pairs;  // of every strategy
  int64_t base_units;              // opening price
};

Layout MakeLayout(const std::string& name, int positions) {
  if (name == "by-pair") {
    const int pairs = std::min(100, positions);
    return {name, std::max(1, positions / pairs), PairNames(pairs), 100 * Decimal::kOne};
  }
  return {name, positions, {"BTC-USDT"}, 64000 * Decimal::kOne};
}

struct MarkResult {
  int positions = 0;
  double seed_s = 0;
  double upsert_s = 0, orders_s = 0;  // parts of seed_s
  int failed_orders = 0;
  std::vector<double> tick_ms, tick_sub_ms, drain_ms;
  size_t delivered = 0;
};

// Opens the positions in `db` and times ticks through the OrderRouter and Portfolio.
MarkResult MarkInProcess(const Layout& l, const std::string& db, int ticks, int seed_threads) {
  MarkResult r;
  auto store = Store::Open({.url = "sqlite:" + db}).value();
  Prices prices;
  for (const auto& p : l.pairs) prices.Set(p, l.base_units);
  InstrumentCatalog instruments(DefaultInstruments());
  // As the config's instruments section gives xctld (InstrumentsYaml).
  for (const auto& p : l.pairs) {
    if (!instruments.Contains(p)) {
      Instrument spec = GenericInstrument(p);
      spec.tick_size = Decimal::FromUnits(Decimal::kOne / 100);
      instruments.Put(spec);
    }
  }
  DefaultExchangeFactory factory({store.get(), &prices, &instruments, &SystemClock()}, {});
  Portfolio portfolio({store.get(), &prices, &instruments, &SystemClock()});
  OrderRouter control({store.get(), &factory, &portfolio});

  const int64_t s0 = MonoNs();
  std::vector<StrategyRecord> records;
  for (int i = 0; i < l.strategies; ++i) {
    std::string id = "s" + std::to_string(i);
    records.push_back({.id = id, .name = id, .type = "external", .pairs = l.pairs,
                       .starting_balance = Decimal::FromInt(1000000), .running = true,
                       .created_at_ms = static_cast<int64_t>(WallMs()),
                       .updated_at_ms = static_cast<int64_t>(WallMs())});
  }
  absl::Status inserted = store->Transact([&](Tx& tx) -> absl::Status {
    for (const auto& rec : records) {
      if (absl::Status s = tx.strategies().Insert(rec); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  if (!inserted.ok()) {
    std::fprintf(stderr, "insert strategies: %s\n", std::string(inserted.message()).c_str());
    return r;
  }
  // Opened by `seed_threads` threads, strategy i by thread i % seed_threads, as
  // concurrent clients would: the orders of different strategies share
  // commits (the ledger's group commit), so 10,000 first orders take seconds
  // instead of a commit each in a row. Only the set-up; the ticks are timed
  // below on one thread.
  std::atomic<int64_t> upsert_ns{0}, orders_ns{0};
  std::atomic<int> positions{0}, failed{0};
  std::atomic<bool> upsert_failed{false};
  auto seed = [&](int first) {
    for (int i = first; i < l.strategies && !upsert_failed; i += seed_threads) {
      const std::string id = "s" + std::to_string(i);
      const int64_t u0 = MonoNs();
      absl::Status up = control.UpsertStrategy(
          {.id = id, .type = "external", .pairs = l.pairs, .running = true,
           .starting_balance = Decimal::FromInt(1000000)});
      if (!up.ok()) {
        std::fprintf(stderr, "upsert %s: %s\n", id.c_str(), std::string(up.message()).c_str());
        upsert_failed = true;
        return;
      }
      const int64_t u1 = MonoNs();
      upsert_ns += u1 - u0;
      for (size_t p = 0; p < l.pairs.size(); ++p) {
        auto result = control.PlaceOrder({.strategy_id = id, .symbol = l.pairs[p],
                                          .side = (i + p) % 3 ? Side::kBuy : Side::kSell,
                                          .quantity = Decimal::FromInt(1)});
        if (result.ok()) {
          ++positions;
        } else if (++failed <= 3) {
          std::fprintf(stderr, "order %s %s: %s\n", id.c_str(), l.pairs[p].c_str(),
                       std::string(result.status().message()).c_str());
        }
      }
      orders_ns += MonoNs() - u1;
    }
  };
  {
    std::vector<std::thread> seeders;
    for (int t = 0; t < seed_threads; ++t) seeders.emplace_back(seed, t);
    for (std::thread& t : seeders) t.join();
  }
  if (upsert_failed) return r;
  r.positions = positions;
  r.failed_orders = failed;
  r.seed_s = (MonoNs() - s0) / 1e9;
  r.upsert_s = upsert_ns.load() / 1e9;  // summed over the seeding threads
  r.orders_s = orders_ns.load() / 1e9;

  std::printf("  (%s: %d positions opened in %.1f s; timing ticks)\n", l.name.c_str(),
              r.positions, r.seed_s);
  auto tick_batch = [&](int t) {
    std::vector<TickPtr> batch;
    for (const auto& p : l.pairs) {
      batch.push_back(prices.Set(p, l.base_units + (1 + t % 50) * (Decimal::kOne / 100)));
    }
    return batch;
  };
  // Warm-up: a few ticks (caches, first marks).
  for (int t = 0; t < 3; ++t) {
    control.OnTicks(tick_batch(t));
    control.ProcessPendingTicks();
  }
  // Without feed subscribers (no open StreamPositions / StreamKpis).
  for (int t = 0; t < ticks; ++t) {
    auto batch = tick_batch(t + 3);
    const int64_t t0 = MonoNs();
    control.OnTicks(batch);
    control.ProcessPendingTicks();
    r.tick_ms.push_back((MonoNs() - t0) / 1e6);
  }
  // With one subscriber to every position and KPI, drained after every tick.
  auto sub = portfolio.feed().Subscribe({}, true, true, [] {});
  sub->Drain();
  for (int t = 0; t < ticks; ++t) {
    auto batch = tick_batch(t + 7);
    const int64_t t0 = MonoNs();
    control.OnTicks(batch);
    control.ProcessPendingTicks();
    const int64_t t1 = MonoNs();
    r.delivered += sub->Drain().positions.size();
    r.tick_sub_ms.push_back((t1 - t0) / 1e6);
    r.drain_ms.push_back((MonoNs() - t1) / 1e6);
  }
  return r;
}

struct ListResult {
  bool ok = false;
  double startup_s = 0;
  long rss_kb = 0;
  double cpu_per_tick_ms = 0, cpu_cores = 0;
  std::vector<double> list_ms;  // per round, all pages
  double server_cpu_ms = 0, client_cpu_ms = 0;  // CPU per round (all pages)
  size_t listed = 0;
  int pages = 0;
  std::string error;
};

// Starts xctld on `db` (the positions opened above) and lists every open
// position over gRPC, `rounds` times. `interval_ms` is the simulated price
// interval: 3600000 keeps xctld quiet after its first poll (ListPositions
// alone), 100 lets the control worker re-mark every position 10 times a
// second (ListPositions competing with marks, and the CPU the marks take).
ListResult ListOverGrpc(const std::string& binary, const Layout& l, const std::string& dir,
                        const std::string& db, int expected, int rounds, int interval_ms,
                        double cpu_window_s) {
  ListResult r;
  std::ofstream(dir + "/config.yaml") << InstrumentsYaml(l.pairs);
  Xctld xctld;
  if (!xctld.Start(binary,
                   {"--config=" + dir + "/config.yaml", "--db=sqlite:" + db,
                    "--listen=127.0.0.1:0", "--log-level=warn", "--pairs=" + Join(l.pairs, ","),
                    "--price-interval-ms=" + std::to_string(interval_ms)},
                   dir, 600)) {
    r.error = "xctld did not start";
    return r;
  }
  r.startup_s = xctld.startup_s();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto stub = v1::ExchangeControl::NewStub(
      grpc::CreateCustomChannel(xctld.address(), grpc::InsecureChannelCredentials(), args));
  // One call to connect, not timed.
  {
    grpc::ClientContext ctx;
    v1::ListPositionsRequest req;
    req.set_page_size(1);
    v1::ListPositionsResponse resp;
    grpc::Status s = stub->ListPositions(&ctx, req, &resp);
    if (!s.ok()) {
      r.error = s.error_message();
      return r;
    }
  }
  // Measure CPU (marks) first, then list, so the listing does not count.
  if (cpu_window_s > 0) {
    const double c0 = xctld.CpuSeconds();
    const int64_t m0 = MonoNs();
    SleepMs(cpu_window_s * 1000);
    const double secs = (MonoNs() - m0) / 1e9;
    r.cpu_cores = (xctld.CpuSeconds() - c0) / secs;
    r.cpu_per_tick_ms = r.cpu_cores * interval_ms;  // cores x ms per tick
  }
  std::printf("  (xctld pid %d serving after %.1f s, interval %d ms; listing)\n", xctld.pid(),
              r.startup_s, interval_ms);
  const double sc0 = xctld.CpuSeconds(), cc0 = SelfCpuSeconds();
  for (int round = 0; round < rounds; ++round) {
    size_t listed = 0;
    int pages = 0;
    std::string token;
    const int64_t t0 = MonoNs();
    do {
      grpc::ClientContext ctx;
      v1::ListPositionsRequest req;
      req.set_status(v1::POSITION_STATUS_OPEN);
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListPositionsResponse resp;
      grpc::Status s = stub->ListPositions(&ctx, req, &resp);
      if (!s.ok()) {
        r.error = s.error_message();
        return r;
      }
      listed += resp.positions_size();
      ++pages;
      token = resp.next_page_token();
    } while (!token.empty());
    r.list_ms.push_back((MonoNs() - t0) / 1e6);
    r.listed = listed;
    r.pages = pages;
  }
  r.server_cpu_ms = (xctld.CpuSeconds() - sc0) * 1000 / std::max(1, rounds);
  r.client_cpu_ms = (SelfCpuSeconds() - cc0) * 1000 / std::max(1, rounds);
  r.rss_kb = xctld.RssKb();
  r.ok = xctld.alive() && static_cast<int>(r.listed) == expected;
  if (static_cast<int>(r.listed) != expected) {
    r.error = "listed " + std::to_string(r.listed) + " of " + std::to_string(expected);
  }
  xctld.Stop();
  return r;
}

struct Scenario {
  Layout layout;
  MarkResult mark;
  ListResult quiet;    // xctld idle: ListPositions alone
  ListResult ticking;  // xctld re-marking every 100 ms
  int seed_threads = 1;
};

void PrintList(const char* what, const ListResult& l) {
  if (!l.error.empty()) std::printf("  ListPositions (%s): %s\n", what, l.error.c_str());
  std::printf("  xctld %s: start-up %.2f s, RSS %.1f MB, ListPositions of %zu in %d pages: "
              "first %.1f ms, median %.1f ms, min %.1f ms, max %.1f ms (CPU per listing: "
              "xctld %.1f ms, client %.1f ms)",
              what, l.startup_s, l.rss_kb / 1024.0, l.listed, l.pages,
              l.list_ms.empty() ? NAN : l.list_ms[0], Median(l.list_ms), Min(l.list_ms),
              Max(l.list_ms), l.server_cpu_ms, l.client_cpu_ms);
  if (l.cpu_cores > 0) {
    std::printf("; marks %.2f cores = %.1f ms CPU per tick", l.cpu_cores, l.cpu_per_tick_ms);
  }
  std::printf("\n");
}

Scenario RunScenario(const std::string& binary, const std::string& layout, int positions,
                     int ticks, int rounds, double cpu_window_s, bool ticking, bool keep,
                     int seed_threads) {
  Scenario s{MakeLayout(layout, positions), {}, {}, {}};
  TempDir dir("xctl-load-positions", keep);
  const std::string db = dir / "xctl.db";
  {
    s.mark = MarkInProcess(s.layout, db, ticks, seed_threads);
    s.seed_threads = seed_threads;
  }  // store and control closed before xctld opens the file
  std::printf("  %s, %d positions (%d strategies x %zu pairs): opened in %.1f s "
              "(%d threads; their time in UpsertStrategy %.1f s, PlaceOrder %.1f s; %d failed); "
              "one tick batch: p50 %.3f ms, p99 %.3f ms, mean %.3f ms; with a drained feed "
              "subscriber p50 %.3f ms (+ drain %.3f ms)\n",
              layout.c_str(), s.mark.positions, s.layout.strategies, s.layout.pairs.size(),
              s.mark.seed_s, s.seed_threads, s.mark.upsert_s, s.mark.orders_s, s.mark.failed_orders,
              Percentile(s.mark.tick_ms, 0.5), Percentile(s.mark.tick_ms, 0.99),
              Mean(s.mark.tick_ms), Percentile(s.mark.tick_sub_ms, 0.5),
              Percentile(s.mark.drain_ms, 0.5));
  s.quiet = ListOverGrpc(binary, s.layout, dir.path(), db, s.mark.positions, rounds, 3600000, 0);
  PrintList("quiet (price interval 1 h)", s.quiet);
  if (ticking) {
    s.ticking = ListOverGrpc(binary, s.layout, dir.path(), db, s.mark.positions, rounds, 100,
                             cpu_window_s);
    PrintList("ticking (price interval 100 ms)", s.ticking);
  }
  return s;
}

int Main(int argc, char** argv) {
  Flags f(argc, argv);
  const std::string binary = FindXctld(f);
  const bool quick = f.Bool("quick");
  const int positions = f.Int("positions", 10000);
  const int baseline = f.Int("baseline", 100);
  const int ticks = f.Int("ticks", quick ? 10 : 50);
  const int rounds = f.Int("list-rounds", quick ? 3 : 10);
  const double cpu_window_s = f.Num("cpu-window", 5);
  const bool ticking = f.Has("ticking") ? f.Bool("ticking") : !quick;
  const std::string which = f.Str("layout", "both");
  const bool keep = f.Bool("keep");
  const int seed_threads = std::max(1, f.Int("seed-threads", 8));
  spdlog::set_level(spdlog::level::warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("load_positions_bench: %s\n", MachineLine().c_str());
  std::printf("xctld %s; %d open positions vs a baseline of %d; %d ticks timed per case; "
              "%d ListPositions rounds; xctld with 100 ms ticks: %s; load average %.2f\n",
              binary.c_str(), positions, baseline, ticks, rounds, ticking ? "yes" : "no",
              LoadAverage1());
  int rc = 0;
  for (const std::string layout : {"by-strategy", "by-pair"}) {
    if (which != "both" && which != layout) continue;
    std::printf("\n== layout %s\n", layout.c_str());
    Scenario base =
        RunScenario(binary, layout, baseline, ticks, rounds, cpu_window_s, ticking, keep,
                    seed_threads);
    Scenario load =
        RunScenario(binary, layout, positions, ticks, rounds, cpu_window_s, ticking, keep,
                    seed_threads);
    const std::string sc = std::to_string(load.mark.positions) + " pos " + layout;
    const double m = Percentile(load.mark.tick_ms, 0.5), bm = Percentile(base.mark.tick_ms, 0.5);
    const double ms = Percentile(load.mark.tick_sub_ms, 0.5);
    const double bms = Percentile(base.mark.tick_sub_ms, 0.5);
    const double lm = Median(load.quiet.list_ms), blm = Median(base.quiet.list_ms);
    const double per = 1000 * m / std::max(1, load.mark.positions);
    const double bper = 1000 * bm / std::max(1, base.mark.positions);
    std::printf("  => mark %.3f ms vs %.3f ms (ratio %.1f; per position %.3f us vs %.3f us, "
                "ratio %.2f); list %.1f ms vs %.1f ms (ratio %.1f)\n",
                m, bm, Ratio(m, bm), per, bper, Ratio(per, bper), lm, blm, Ratio(lm, blm));
    Result("positions", sc, "mark one tick batch, p50 ms (no subscriber)", Fmt("%.3f", m),
           Fmt("%.3f", bm), Ratio(m, bm), "issue: < 5 ms", m < 5 ? "met" : "MISSED");
    Result("positions", sc, "mark one tick batch, p99 ms (no subscriber)",
           Fmt("%.3f", Percentile(load.mark.tick_ms, 0.99)),
           Fmt("%.3f", Percentile(base.mark.tick_ms, 0.99)),
           Ratio(Percentile(load.mark.tick_ms, 0.99), Percentile(base.mark.tick_ms, 0.99)),
           "issue: < 5 ms", Percentile(load.mark.tick_ms, 0.99) < 5 ? "met" : "MISSED");
    Result("positions", sc, "mark one tick batch, p50 ms (feed subscriber)", Fmt("%.3f", ms),
           Fmt("%.3f", bms), Ratio(ms, bms), "issue: < 5 ms", ms < 5 ? "met" : "MISSED");
    Result("positions", sc, "mark per position us", Fmt("%.3f", per), Fmt("%.3f", bper),
           Ratio(per, bper));
    Result("positions", sc, "ListPositions all (page 1000), quiet, median ms", Fmt("%.1f", lm),
           Fmt("%.1f", blm), Ratio(lm, blm), "issue: < 50 ms",
           lm < 50 && load.quiet.ok ? "met" : "MISSED");
    if (ticking) {
      const double tm = Median(load.ticking.list_ms), btm = Median(base.ticking.list_ms);
      Result("positions", sc, "ListPositions all, 100 ms ticks, median ms", Fmt("%.1f", tm),
             Fmt("%.1f", btm), Ratio(tm, btm), "issue: < 50 ms",
             tm < 50 && load.ticking.ok ? "met" : "MISSED");
      Result("positions", sc, "xctld CPU per 100 ms tick (marks in situ) ms",
             Fmt("%.1f", load.ticking.cpu_per_tick_ms), Fmt("%.1f", base.ticking.cpu_per_tick_ms),
             Ratio(load.ticking.cpu_per_tick_ms, base.ticking.cpu_per_tick_ms));
    }
    Result("positions", sc, "xctld start-up s", Fmt("%.2f", load.quiet.startup_s),
           Fmt("%.2f", base.quiet.startup_s), Ratio(load.quiet.startup_s, base.quiet.startup_s));
    Result("positions", sc, "in-process UpsertStrategy total s", Fmt("%.1f", load.mark.upsert_s),
           Fmt("%.2f", base.mark.upsert_s), Ratio(load.mark.upsert_s, base.mark.upsert_s));
    Result("positions", sc, "xctld RSS MB", Fmt("%.1f", load.quiet.rss_kb / 1024.0),
           Fmt("%.1f", base.quiet.rss_kb / 1024.0), Ratio(load.quiet.rss_kb, base.quiet.rss_kb));
    if (!load.quiet.ok || load.mark.positions != positions) rc = 1;
  }
  return rc;
}

}  // namespace
}  // namespace xctl::load

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as xctld does
  return xctl::load::Main(argc, argv);
}
