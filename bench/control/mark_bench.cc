// Mark-to-market benchmark. For 1, 100 and 1,000 paper strategies, each with
// an open BTC-USDT position, it measures in one run:
//   - the cost of one tick through the OrderRouter and its Portfolio
//     (exchange OnTick, marks, KPIs of every scope, publication to a feed
//     subscriber), against a
//     baseline that only computes the same positions' unrealized PnL in a
//     bare loop (the arithmetic no implementation can avoid);
//   - what a subscriber that drains once per 10 ticks receives: positions
//     delivered against the 10 x N a per-change design would send.
// Prints the figures and ratios; nothing passes or fails.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "server/model/ledger.h"
#include "spdlog/spdlog.h"

namespace xctl::bench {
namespace {

class Prices : public PriceView {
 public:
  TickPtr Set(double last) {
    auto t = std::make_shared<Tick>();
    t->pair = "BTC-USDT";
    t->last = Decimal::FromUnits(static_cast<int64_t>(last * Decimal::kOne));
    t->bid = t->last;
    t->ask = t->last;
    tick_ = t;
    return t;
  }
  TickPtr Latest(absl::string_view) const override { return tick_; }

 private:
  TickPtr tick_;
};

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

void Run(int strategies, int ticks) {
  auto dir = std::filesystem::temp_directory_path() /
             ("xctl-mark-bench-" + std::to_string(strategies));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = Store::Open({.url = "sqlite:" + (dir / "b.db").string()}).value();
  Prices prices;
  prices.Set(64000);
  InstrumentCatalog instruments(DefaultInstruments());
  DefaultExchangeFactory factory({store.get(), &prices, &instruments, &SystemClock()}, {});
  Portfolio portfolio({store.get(), &prices, &instruments, &SystemClock()});
  OrderRouter control({store.get(), &factory, &portfolio});
  std::vector<Position> rows;
  for (int i = 0; i < strategies; ++i) {
    std::string id = "s" + std::to_string(i);
    StrategyRecord r{.id = id, .name = id, .type = i % 2 ? "a" : "b", .pairs = {"BTC-USDT"},
                     .starting_balance = Decimal::FromInt(10000), .running = true};
    (void)store->Transact([&](Tx& tx) { return tx.strategies().Insert(r); });
    (void)control.UpsertStrategy({.id = id, .type = r.type, .pairs = {"BTC-USDT"},
                                  .running = true});
    auto result = control.PlaceOrder({.strategy_id = id, .symbol = "BTC-USDT",
                                      .side = i % 3 ? Side::kBuy : Side::kSell,
                                      .quantity = Decimal::FromInt(1)});
    if (result.ok()) rows.push_back(result->open_positions.at(0));
  }
  auto sub = portfolio.feed().Subscribe({}, true, true, [] {});
  sub->Drain();

  // Control: one tick at a time, drained every 10 ticks.
  size_t delivered = 0;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < ticks; ++t) {
    control.OnTicks({prices.Set(64000 + (t % 50))});
    control.ProcessPendingTicks();
    if (t % 10 == 9) delivered += sub->Drain().positions.size();
  }
  const double control_s = Seconds(std::chrono::steady_clock::now() - start) / ticks;

  // Baseline: the unrealized PnL of the same rows, nothing else.
  const Instrument btc = instruments.Get("BTC-USDT").value();
  Decimal sink;
  start = std::chrono::steady_clock::now();
  for (int t = 0; t < ticks; ++t) {
    const Decimal mark = Decimal::FromInt(64000 + (t % 50));
    for (const Position& p : rows) sink += ledger::UnrealizedPnl(p, btc, mark);
  }
  const double base_s =
      std::max(Seconds(std::chrono::steady_clock::now() - start) / ticks, 1e-9);
  const double naive = static_cast<double>(ticks) * strategies;
  std::printf(
      "%5d positions: control %8.1f us/tick, baseline %7.2f us/tick, ratio %7.1fx | "
      "positions delivered %7zu vs per-change %8.0f (%.2fx fewer messages' worth)\n",
      strategies, control_s * 1e6, base_s * 1e6, control_s / base_s, delivered, naive,
      naive / std::max<double>(delivered, 1));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xctl::bench

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const int ticks = argc > 1 ? std::atoi(argv[1]) : 200;
  for (int n : {1, 100, 1000}) xctl::bench::Run(n, ticks);
  return 0;
}
