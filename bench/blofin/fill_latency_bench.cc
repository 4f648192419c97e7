// Exchange event -> strategy latency of a live fill, pushed (BloFin's private
// WebSocket, blofin.ws_private_url) next to polled (REST: resting orders
// refreshed on price ticks, at most once per order_sync_interval, 2 s, per
// symbol; ticks at the REST price poll's fastest allowed rate, every 300 ms,
// docs/price.md), in one run against the local fake BloFin built from the
// docs. Baseline: the poll.
//
// Two live strategies, one BloFin account each, each behind its own exchange
// control (OrderRouter + Portfolio, as xctld has it; the pushed one with the
// private WebSocket). An "event": both place a resting buy at the same price,
// then, after a random pause (so the event falls anywhere in the 2 s refresh
// cycle), one POST /_control/tickers crosses both; the fake fills both at
// once. Latency = from just before that call to the moment a subscriber of
// each Portfolio's feed (what StreamPositions and strategies read) receives
// the position with the new fill.
//
//   blofin_fill_latency_bench [events]      (default 20, about 45 s)
// Prints p50/p99 of both and their ratio. Nothing passes or fails.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/common/request_budget.h"
#include "server/control/exchange_factory.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "server/price/tick.h"
#include "spdlog/spdlog.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

// One live strategy behind its own exchange control, and when its open
// position reached each quantity (feed arrival, steady clock).
class LiveSide {
 public:
  LiveSide(const std::string& id, const std::string& key, bool pushed, Store* store,
        testing::FakeBlofin& fake, const testing::FixedPrices& prices,
        const InstrumentCatalog& instruments)
      : id_(id) {
    blofin::RestOptions rest;
    rest.base_url = fake.base_url();
    if (pushed) rest.ws_private_url = fake.ws_private_url();
    rest.budget = std::make_shared<RequestBudget>(id, rest.limits, &SystemClock());
    factory_ = std::make_unique<DefaultExchangeFactory>(
        DefaultExchangeFactory::Deps{store, &prices, &instruments, &SystemClock()}, rest);
    portfolio_ = std::make_unique<Portfolio>(
        Portfolio::Deps{store, &prices, &instruments, &SystemClock()});
    router_ = std::make_unique<OrderRouter>(
        OrderRouter::Deps{store, factory_.get(), portfolio_.get()});
    StrategyInfo info{.id = id, .type = "external", .pairs = {"BTC-USDT"}, .running = true,
                      .leverage = D("3")};
    info.credentials = BlofinCredentials{Secret(key), Secret("secret"), Secret("pass")};
    absl::Status up = router_->UpsertStrategy(info);
    if (!up.ok()) std::fprintf(stderr, "%s not started: %s\n", id.c_str(), up.ToString().c_str());
    sub_ = portfolio_->feed().Subscribe({.strategy_id = id}, /*positions=*/true,
                                        /*kpis=*/false, [this] { OnReady(); });
    router_->Start(nullptr);
  }
  ~LiveSide() {
    router_->Stop();
    sub_.reset();
    router_.reset();
  }
  OrderRouter& router() { return *router_; }
  bool Place(const std::string& cid, const std::string& price) {
    auto r = router_->PlaceOrder({.strategy_id = id_, .client_order_id = cid,
                                  .symbol = "BTC-USDT", .side = Side::kBuy,
                                  .type = OrderType::kLimit, .price = D(price),
                                  .quantity = D("0.1")});
    if (!r.ok()) std::fprintf(stderr, "%s: %s\n", id_.c_str(), r.status().ToString().c_str());
    return r.ok();
  }
  // The steady time the position reached `quantity`; waits up to `limit`.
  int64_t AwaitQuantity(const Decimal& quantity, absl::Duration limit) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return quantity_ >= quantity; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&reached), limit)) return -1;
    return reached_at_;
  }

 private:
  void OnReady() {
    const int64_t now = SteadyMicros();
    FeedSubscription::Batch batch = sub_->Drain();
    absl::MutexLock lock(&mu_);
    for (const PositionView& v : batch.positions) {
      if (v.position.status == PositionStatus::kOpen && v.position.quantity > quantity_) {
        quantity_ = v.position.quantity;
        reached_at_ = now;
      }
    }
  }

  const std::string id_;
  std::unique_ptr<DefaultExchangeFactory> factory_;
  std::unique_ptr<Portfolio> portfolio_;
  std::unique_ptr<OrderRouter> router_;
  std::unique_ptr<FeedSubscription> sub_;
  absl::Mutex mu_;
  Decimal quantity_ ABSL_GUARDED_BY(mu_);
  int64_t reached_at_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace
}  // namespace xctl

int main(int argc, char** argv) {
  using namespace xctl;  // NOLINT
  spdlog::set_level(spdlog::level::err);
  const int events = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  xctl::testing::FakeBlofin fake(/*websocket=*/true);
  if (!fake.ok()) {
    std::fprintf(stderr, "the fake BloFin did not start (PyPI websockets in .venv?)\n");
    return 1;
  }
  fake.WsControl(R"({"connect_interval_ms":0})");
  fake.AddAccount("kpush", "secret", "pass", "1000000");
  fake.AddAccount("kpoll", "secret", "pass", "1000000");
  const std::string calm = R"({"BTC-USDT":{"bid":"64000","ask":"64000.5","last":"64000"}})";
  fake.SetTickers(calm);
  xctl::testing::TestDatabase db("sqlite");
  auto store = Store::Open({.url = db.url()}).value();
  for (const char* id : {"pushed", "polled"}) {
    StrategyRecord s{.id = id, .name = id, .type = "external", .pairs = {"BTC-USDT"},
                     .starting_balance = D("10000"), .running = true};
    (void)store->Transact([&](Tx& tx) { return tx.strategies().Insert(s); });
  }
  InstrumentCatalog instruments(DefaultInstruments());
  xctl::testing::FixedPrices prices;
  prices.Set("BTC-USDT", "64000", "64000.5", "64000");
  LiveSide pushed("pushed", "kpush", true, store.get(), fake, prices, instruments);
  LiveSide polled("polled", "kpoll", false, store.get(), fake, prices, instruments);
  xctl::testing::WaitFor([&] { return fake.WsStat("connections") == 1; });
  absl::SleepFor(absl::Milliseconds(500));  // subscribed and reconciled

  // Price ticks every 300 ms (each a changed price), to both, as the REST
  // poll at its fastest allowed rate delivers them.
  std::atomic<bool> stop{false};
  std::thread ticker([&] {
    for (int i = 0; !stop.load(); ++i) {
      TickPtr t = prices.Set("BTC-USDT", "64000", "64000.5", i % 2 ? "64000.1" : "64000");
      pushed.router().OnTicks({t});
      polled.router().OnTicks({t});
      absl::SleepFor(absl::Milliseconds(300));
    }
  });

  std::mt19937 rng(42);
  std::uniform_int_distribution<int> pause_ms(0, 2000);
  std::vector<double> push_ms, poll_ms;
  for (int e = 0; e < events; ++e) {
    const std::string price = absl::StrCat(60000 - e);
    const std::string cid = absl::StrCat("f", e);
    if (!pushed.Place(cid, price) || !polled.Place(cid, price)) break;
    absl::SleepFor(absl::Milliseconds(pause_ms(rng)));
    const Decimal want = D(absl::StrCat((e + 1) / 10, ".", (e + 1) % 10));  // 0.1 each
    const int64_t t0 = SteadyMicros();
    fake.SetTickers(absl::StrCat(R"({"BTC-USDT":{"bid":")", 59998 - e, R"(","ask":")",
                                 59999 - e, R"(","last":")", 59999 - e, R"("}})"));
    const int64_t p = pushed.AwaitQuantity(want, absl::Seconds(10));
    const int64_t q = polled.AwaitQuantity(want, absl::Seconds(10));
    fake.SetTickers(calm);
    if (p < 0 || q < 0) {
      std::fprintf(stderr, "event %d: a fill did not arrive (pushed %s, polled %s)\n", e,
                   p < 0 ? "no" : "yes", q < 0 ? "no" : "yes");
      break;
    }
    push_ms.push_back((p - t0) / 1000.0);
    poll_ms.push_back((q - t0) / 1000.0);
  }
  stop = true;
  ticker.join();

  const double poll50 = Percentile(poll_ms, 0.5), poll99 = Percentile(poll_ms, 0.99);
  const double push50 = Percentile(push_ms, 0.5), push99 = Percentile(push_ms, 0.99);
  std::printf("blofin_fill_latency_bench: exchange fill -> exchange control's feed, %zu events\n"
              "baseline = REST refresh on ticks (every 300 ms; order_sync_interval 2 s)\n\n",
              poll_ms.size());
  std::printf("%-44s %12s %12s\n", "source", "p50", "p99");
  std::printf("%-44s %9.1f ms %9.1f ms\n", "REST refresh on price ticks (baseline)", poll50,
              poll99);
  std::printf("%-44s %9.1f ms %9.1f ms\n", "private WebSocket push", push50, push99);
  std::printf("%-44s %11.4fx %11.4fx\n", "push / poll", poll50 > 0 ? push50 / poll50 : 0,
              poll99 > 0 ? push99 / poll99 : 0);
  return 0;
}
