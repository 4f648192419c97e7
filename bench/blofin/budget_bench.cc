// Requests to BloFin per minute while xctld follows N resting live orders
// (1, 10, 100) through REST, against the request budget it keeps (400 a
// minute of BloFin's 500 per IP, index.md "Rate Limits"), on the local fake
// BloFin built from the docs. Baseline in the same run: the price source's
// own poll (one GET /market/tickers a second: 60 a minute), so every figure
// is printed as a ratio to it. One simulated minute: 30 refresh rounds (the
// default order_sync_interval is 2 s), the budget on a manual clock moved 2 s
// a round (two price polls each), real requests signed with real time.
//
//   blofin_budget_bench
// Prints, per N: order-detail requests a minute, per resting order, the
// share of refreshes the budget allowed, and how many resting orders fit
// the budget next to the price poll; then, side by side, the same minute
// with the private WebSocket connected (blofin.ws_private_url; the fake's
// /ws/private): order requests a minute, target 0. Nothing passes or fails.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "spdlog/spdlog.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

constexpr int kRounds = 30;  // one minute of 2 s refreshes
constexpr int kPricePollsPerMinute = 60;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

struct Result {
  double detail_per_minute = 0;
  double refreshed_fraction = 0;
};

Result Run(int resting, bool pushed = false) {
  testing::FakeBlofin fake(/*websocket=*/pushed);
  fake.WsControl(R"({"connect_interval_ms":0})");
  fake.Control("limits", R"({"trade": null})");
  fake.AddAccount("k", "s", "p", "1000000");
  testing::TestDatabase db("sqlite");
  auto store = Store::Open({.url = db.url()}).value();
  StrategyRecord s{.id = "live", .name = "live", .type = "external", .pairs = {"BTC-USDT"},
                   .starting_balance = D("10000")};
  (void)store->Transact([&](Tx& tx) { return tx.strategies().Insert(s); });
  InstrumentCatalog instruments(DefaultInstruments());
  FakeClock clock;  // the budget's; signing uses real time
  BlofinExchangeConfig c{.strategy_id = "live",
                         .credentials = {Secret("k"), Secret("s"), Secret("p")},
                         .order_sync_interval = absl::ZeroDuration()};
  c.rest.base_url = fake.base_url();
  c.rest.budget = std::make_shared<RequestBudget>(fake.base_url(), RequestLimits{}, &clock);
  if (pushed) c.rest.ws_private_url = fake.ws_private_url();
  auto ex = BlofinExchange::Open(c, {store.get(), &instruments, &SystemClock()}).value();
  if (pushed && !testing::WaitFor([&] {
        return ex->private_ws()->Ready() && ex->push_stats().gap_refreshes > 0;
      })) {
    std::fprintf(stderr, "the private WebSocket did not connect\n");
  }
  for (int i = 0; i < resting; ++i) {
    OrderRequest r{.strategy_id = "live", .symbol = "BTC-USDT", .side = Side::kBuy,
                   .type = OrderType::kLimit, .price = D(absl::StrCat(40000 + i)),
                   .quantity = D("0.1")};
    if (!ex->PlaceOrder(r).ok()) std::fprintf(stderr, "order %d not placed\n", i);
    // Orders spend the budget too: let it refill before measuring.
    if (i % 10 == 9) clock.Advance(absl::Seconds(10));
  }
  clock.Advance(absl::Minutes(1));
  auto order_reads = [&] {
    return fake.Requests("GET /api/v1/trade/order-detail") +
           fake.Requests("GET /api/v1/trade/fills-history") +
           fake.Requests("GET /api/v1/trade/orders-pending");
  };
  const int before = order_reads();
  const Tick tick{.pair = "BTC-USDT", .last = D("64000")};
  for (int round = 0; round < kRounds; ++round) {
    for (int poll = 0; poll < 2; ++poll) {  // the price source shares the budget
      (void)c.rest.budget->Acquire(RequestBudget::Kind::kPublic);
      clock.Advance(absl::Seconds(1));
    }
    ex->OnTick(tick);
  }
  const int details = order_reads() - before;
  const double wanted = static_cast<double>(resting) * kRounds;
  return {static_cast<double>(details), wanted > 0 ? details / wanted : 0};
}

}  // namespace
}  // namespace xctl

int main() {
  spdlog::set_level(spdlog::level::err);
  std::printf("blofin_budget_bench: REST refresh of resting live orders (every 2 s per symbol)\n"
              "budget 400 requests/min per host (BloFin: 500/min per IP); baseline = the price "
              "poll, %d requests/min\n\n", xctl::kPricePollsPerMinute);
  std::printf("%8s %16s %14s %12s %16s\n", "resting", "detail req/min", "per order/min",
              "x baseline", "refreshes done");
  double per_order = 0;
  for (int n : {1, 10, 100}) {
    xctl::Result r = xctl::Run(n);
    if (n == 1) per_order = r.detail_per_minute;
    std::printf("%8d %16.0f %14.1f %11.2fx %15.0f%%\n", n, r.detail_per_minute,
                r.detail_per_minute / n, r.detail_per_minute / xctl::kPricePollsPerMinute,
                r.refreshed_fraction * 100);
  }
  // Background refreshes may use 3/4 of the budget (request_budget.h).
  const double usable = 400 * 0.75 - xctl::kPricePollsPerMinute;
  // Every /api/v1/trade/ request counts against the account's 30 per 10 s.
  const double per_account = 30 * 6;
  std::printf("\nrefreshed at full rate: %.0f resting orders per account (30 trading requests "
              "per 10 s), %.0f per host next to the price poll\n",
              per_order > 0 ? per_account / per_order : 0, per_order > 0 ? usable / per_order : 0);
  std::printf("\nthe same minute, side by side: REST polling vs the private WebSocket "
              "(orders, positions, account pushed)\n%8s %22s %22s\n", "resting",
              "polled order req/min", "pushed order req/min");
  for (int n : {1, 10, 100}) {
    std::printf("%8d %22.0f %22.0f\n", n, xctl::Run(n).detail_per_minute,
                xctl::Run(n, /*pushed=*/true).detail_per_minute);
  }
  return 0;
}
