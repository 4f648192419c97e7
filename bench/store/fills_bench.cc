// Durable paper fills per second against raw inserts into the same database.
//
// Product path: market orders through the real PaperExchange on a real Store
// (one transaction per fill: the account and open positions read once, the
// margin check, then the order, the fill, the position row and the account
// written, as xctld does before it acknowledges an order). Orders alternate buy/sell of
// 1 contract of BTC-USDT at a fixed price, so positions open and close.
// Baseline, same run, same kind of database: raw SOCI on a session of its
// own, one transaction per fill holding the three statements no design can
// skip: INSERT the order, INSERT the fill, upsert the open position.
// For SQLite (WAL, synchronous=NORMAL as the store sets, a temp file) and
// PostgreSQL (a database created and dropped like tests/support does), with
// 1 and 2 threads (each thread its own strategy / session). Each side runs
// --seconds per case in 4 slices that alternate with the other side's, so a
// busy machine weighs on both alike. Prints fills/s and product/baseline;
// nothing passes or fails.
//
// With --fenced every paper write carries a WriteFence (cluster mode), against
// a lease row the bench holds for a day.
//
//   store_fills_bench [--seconds=3] [--threads=1,2] [--backends=sqlite,postgresql]
//                     [--pg=postgresql://xctl:xctl@127.0.0.1:5432/xctl] [--fenced]
// --pg defaults to $XCTL_TEST_PG_URL; without either PostgreSQL is skipped.
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/exchange/paper/paper_exchange.h"
#include "spdlog/spdlog.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

ABSL_FLAG(double, seconds, 3, "seconds each side runs per case");
ABSL_FLAG(std::string, threads, "1,2", "thread counts to run, comma separated");
ABSL_FLAG(std::string, backends, "sqlite,postgresql", "databases to run, comma separated");
ABSL_FLAG(std::string, pg, "", "PostgreSQL base URL (default $XCTL_TEST_PG_URL)");
ABSL_FLAG(bool, fenced, false,
          "cluster mode's fenced writes: each paper exchange writes under a strategy lease "
          "(docs/cluster.md, \"Fencing\")");

namespace xctl::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSlices = 4;  // per side and case

// Operations counted over the slices one side ran.
struct Tally {
  long ops = 0;
  double seconds = 0;
  double PerSecond() const { return seconds > 0 ? ops / seconds : 0; }
};

// Runs body(thread, i) on `threads` threads for `seconds`; i continues from
// next[thread] (kept across slices so client order ids stay unique).
template <typename Body>
void RunSlice(int threads, double seconds, std::vector<long>& next, Tally& tally, Body body) {
  std::vector<std::thread> pool;
  std::atomic<long> ops{0};
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      long n = 0;
      while (Clock::now() < end) body(t, next[t] + n++);
      next[t] += n;
      ops += n;
    });
  }
  for (auto& th : pool) th.join();
  tally.ops += ops;
  tally.seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

void InsertStrategy(Store& store, const std::string& id) {
  StrategyRecord r{.id = id, .name = id, .type = "external", .pairs = {"BTC-USDT"},
                   .starting_balance = Decimal::FromInt(1000000), .running = true};
  Check(store.Transact([&](Tx& tx) { return tx.strategies().Insert(r); }), "insert strategy");
}

// A raw session on the same database, configured as the store's own.
void OpenRaw(soci::session& s, const std::string& url) {
  if (absl::StartsWith(url, "sqlite:")) {
    const std::string path(absl::StripPrefix(url, "sqlite:"));
    s.open(soci::sqlite3, "db=\"" + path + "\" timeout=5");
    s << "PRAGMA journal_mode=WAL";
    s << "PRAGMA busy_timeout=5000";
    s << "PRAGMA foreign_keys=ON";
    s << "PRAGMA synchronous=NORMAL";
  } else {
    s.open(soci::postgresql, PostgresConnInfo(url).value());
  }
}

// --fenced: a lease "strategy:<id>" held by "bench" for a day, and its tenure.
std::optional<Tenure> BenchTenure(soci::session& s, bool sqlite, const std::string& strategy) {
  if (!absl::GetFlag(FLAGS_fenced)) return std::nullopt;
  const std::string name = "strategy:" + strategy;
  s << (sqlite ? "INSERT INTO cluster_leases (name, holder, expires_at, epoch) VALUES (:n, "
                 "'bench', CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) + "
                 "86400000, 1)"
               : "INSERT INTO cluster_leases (name, holder, expires_at, epoch) VALUES (:n, "
                 "'bench', now() + interval '1 day', 1)"),
      soci::use(name);
  return Tenure{.fence = {.lease = name, .holder = "bench", .epoch = 1}};
}

// One baseline fill: order + fill + position upsert in one transaction.
void RawFill(soci::session& s, bool sqlite, const std::string& strategy, long i) {
  const std::string coid = "raw" + std::to_string(i);
  const std::string side = i % 2 ? "sell" : "buy";
  const std::string qty = "1", price = "64000", fee = "0.0384";
  const long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  long long order_id = 0;
  s << (sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  s << "INSERT INTO orders (strategy_id, client_order_id, symbol, side, type, quantity, status, "
       "filled_quantity, average_price, fee, reduce_only, mode, create_time, update_time) "
       "VALUES (:s, :c, 'BTC-USDT', :side, 'market', :q, 'filled', :q2, :p, :fee, 0, 'paper', "
       ":t, :t2) RETURNING id",
      soci::use(strategy), soci::use(coid), soci::use(side), soci::use(qty), soci::use(qty),
      soci::use(price), soci::use(fee), soci::use(now), soci::use(now), soci::into(order_id);
  s << "INSERT INTO fills (order_id, strategy_id, symbol, side, price, quantity, fee, maker, "
       "mode, time) VALUES (:o, :s, 'BTC-USDT', :side, :p, :q, :fee, 0, 'paper', :t)",
      soci::use(order_id), soci::use(strategy), soci::use(side), soci::use(price),
      soci::use(qty), soci::use(fee), soci::use(now);
  s << "INSERT INTO positions (strategy_id, symbol, side, open_time, open_price, quantity, "
       "status, fees, mode, exchange) VALUES (:s, 'BTC-USDT', 'long', :t, :p, :q, 'open', :fee, "
       "'paper', 'paper') ON CONFLICT (strategy_id, symbol) WHERE status = 'open' "
       "DO UPDATE SET quantity = excluded.quantity, fees = excluded.fees",
      soci::use(strategy), soci::use(now), soci::use(price), soci::use(qty), soci::use(fee);
  s << "COMMIT";
}

void RunBackend(const std::string& backend, const std::vector<int>& thread_counts,
                double seconds) {
  testing::TestDatabase db(backend);
  if (db.url().empty()) {
    std::printf("%-10s skipped: %s; or pass --pg=URL\n", backend.c_str(),
                db.skip_reason().c_str());
    return;
  }
  auto store = Store::Open({.url = db.url(), .pool_size = 4});
  Check(store.status(), "open store");
  testing::FixedPrices prices;
  prices.Set("BTC-USDT", "64000", "64000", "64000");
  InstrumentCatalog instruments(DefaultInstruments());
  const bool sqlite = backend == "sqlite";

  for (int threads : thread_counts) {
    // Baseline: raw SOCI, one session per thread.
    std::vector<std::string> raw_ids, paper_ids;
    std::vector<std::unique_ptr<soci::session>> sessions;
    for (int t = 0; t < threads; ++t) {
      raw_ids.push_back("raw" + std::to_string(threads) + "x" + std::to_string(t));
      paper_ids.push_back("paper" + std::to_string(threads) + "x" + std::to_string(t));
      InsertStrategy(**store, raw_ids.back());
      InsertStrategy(**store, paper_ids.back());
      sessions.push_back(std::make_unique<soci::session>());
      OpenRaw(*sessions.back(), db.url());
    }
    // Product: PaperExchange::PlaceOrder, one exchange (strategy) per thread.
    std::vector<std::unique_ptr<PaperExchange>> exchanges;
    for (int t = 0; t < threads; ++t) {
      auto ex = PaperExchange::Open(
          {.strategy_id = paper_ids[t], .starting_balance = Decimal::FromInt(1000000)},
          {.store = store->get(), .prices = &prices, .instruments = &instruments,
           .clock = &SystemClock(), .tenure = BenchTenure(*sessions[t], sqlite, paper_ids[t])});
      Check(ex.status(), "open paper exchange");
      exchanges.push_back(*std::move(ex));
    }
    auto raw_fill = [&](int t, long i) {
      try {
        RawFill(*sessions[t], sqlite, raw_ids[t], i);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "raw fill: %s\n", e.what());
        std::exit(1);
      }
    };
    auto paper_fill = [&](int t, long i) {
      auto r = exchanges[t]->PlaceOrder({.strategy_id = paper_ids[t],
                                         .client_order_id = "c" + std::to_string(i),
                                         .symbol = "BTC-USDT",
                                         .side = i % 2 ? Side::kSell : Side::kBuy,
                                         .quantity = Decimal::FromInt(1)});
      Check(r.status(), "paper order");
      if (r->fills.size() != 1) Check(absl::InternalError("market order did not fill"), "fill");
    };
    // Slices alternate (raw, paper, paper, raw, ...) so that both sides see
    // the same background load on a shared machine.
    Tally raw_tally, paper_tally;
    std::vector<long> raw_next(threads, 0), paper_next(threads, 0);
    const double slice = seconds / kSlices;
    for (int k = 0; k < kSlices; ++k) {
      if (k % 2 == 0) RunSlice(threads, slice, raw_next, raw_tally, raw_fill);
      RunSlice(threads, slice, paper_next, paper_tally, paper_fill);
      if (k % 2 == 1) RunSlice(threads, slice, raw_next, raw_tally, raw_fill);
    }
    const double raw = raw_tally.PerSecond(), paper = paper_tally.PerSecond();
    std::printf("%-10s %d thread%s: paper fills %8.0f/s  raw inserts %8.0f/s  ratio %.2f\n",
                backend.c_str(), threads, threads == 1 ? " " : "s", paper, raw, paper / raw);
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace xctl::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (std::string pg = absl::GetFlag(FLAGS_pg); !pg.empty()) {
    setenv("XCTL_TEST_PG_URL", pg.c_str(), 1);  // what TestDatabase reads
  }
  std::vector<int> threads;
  for (absl::string_view n : absl::StrSplit(absl::GetFlag(FLAGS_threads), ',')) {
    int v = 0;
    if (absl::SimpleAtoi(n, &v) && v > 0) threads.push_back(v);
  }
  const double seconds = absl::GetFlag(FLAGS_seconds);
  std::printf("durable paper fills%s vs raw SOCI inserts (order + fill + position, one "
              "transaction each), %.1f s per side and case\n",
              absl::GetFlag(FLAGS_fenced) ? " (fenced)" : "", seconds);
  for (absl::string_view backend : absl::StrSplit(absl::GetFlag(FLAGS_backends), ',')) {
    xctl::bench::RunBackend(std::string(backend), threads, seconds);
  }
  return 0;
}
