// Strategy sharding (server/cluster/strategy_shards.h) with two in-process
// instances: each a Store, the real OrderRouter and Portfolio with PaperExchanges, a
// StrategyManager and StrategyShards, on one PostgreSQL database
// (XCTL_TEST_PG_URL). Every strategy is owned by exactly one instance, the
// shares are balanced (also when the second instance joins late), a
// non-owner answers UNAVAILABLE naming the owner, and after a crash (leases
// left to expire) the survivor runs every strategy with its positions and
// resting paper orders as stored.
#include "server/cluster/strategy_shards.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "server/common/error_reason.h"
#include "server/store/store.h"
#include "server/strategy/strategy_manager.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/pg_activity.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::PgActivity;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

constexpr int kStrategies = 6;
// Rounds every 300 ms; short enough for a quick test, long enough for a
// loaded 2-core machine to renew in time.
constexpr absl::Duration kTtl = absl::Milliseconds(900);

std::string Sid(int i) { return absl::StrCat("s", i); }

// One xctld's worth of strategy machinery, without gRPC.
struct Instance {
  Instance(const std::string& url, const std::string& node, FixedPrices& prices,
           InstrumentCatalog& instruments, const Clock& clock, bool run = true) {
    store = Store::Open({.url = url}).value();
    factory = std::make_unique<DefaultExchangeFactory>(
        DefaultExchangeFactory::Deps{store.get(), &prices, &instruments, &clock},
        blofin::RestOptions());
    portfolio = std::make_unique<Portfolio>(
        Portfolio::Deps{store.get(), &prices, &instruments, &clock});
    control = std::make_unique<OrderRouter>(
        OrderRouter::Deps{store.get(), factory.get(), portfolio.get()});
    EXPECT_TRUE(RegisterBuiltinStrategies(registry).ok());
    manager = std::make_unique<StrategyManager>(store.get(), control.get(), nullptr, &registry,
                                                nullptr, &clock);
    shards = cluster::StrategyShards::Create(
                 {.database_url = url, .node_id = node, .lease_ttl = kTtl}, *manager)
                 .value();
    manager->SetOwnership(shards.get());
    cluster::StrategyShards* gate = shards.get();
    control->SetTradeGate([gate](absl::string_view id) { return gate->CheckOwner(id); });
    control->SetTenureSource([gate](absl::string_view id) { return gate->TenureOf(id); });
    std::vector<StrategyConfig> config;
    for (int i = 0; i < kStrategies; ++i) {
      config.push_back({.id = Sid(i), .type = "external", .pairs = {"BTC-USDT"},
                        .leverage = "10"});
    }
    EXPECT_TRUE(manager->Start(config).ok());
    if (run) EXPECT_TRUE(shards->Run().ok());
  }
  ~Instance() {
    shards->Stop();
    manager->Shutdown();
  }
  // Strategies whose lease this instance holds and that run here.
  std::set<std::string> Owned() const {
    std::set<std::string> out;
    for (const std::string& id : shards->Owned()) {
      auto view = manager->Get(id);
      if (view.ok() && view->status == StrategyStatus::kRunning) out.insert(id);
    }
    return out;
  }

  std::unique_ptr<Store> store;
  std::unique_ptr<DefaultExchangeFactory> factory;
  std::unique_ptr<Portfolio> portfolio;
  std::unique_ptr<OrderRouter> control;
  StrategyRegistry registry;
  std::unique_ptr<StrategyManager> manager;
  std::unique_ptr<cluster::StrategyShards> shards;
};

// Polls `done` every 20 ms for up to `limit`; returns the time it took.
template <typename F>
std::optional<absl::Duration> WaitFor(F done, absl::Duration limit = absl::Seconds(30)) {
  const absl::Time start = absl::Now();
  while (absl::Now() - start < limit) {
    if (done()) return absl::Now() - start;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return std::nullopt;
}

class StrategyShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>("postgresql");
    XCTL_REQUIRE_DATABASE(*db_);
    // Migrations (the lease table) before anything else opens the database.
    Store::Open({.url = db_->url()}).value();
    prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2");
  }

  std::unique_ptr<Instance> Make(const std::string& node) {
    return std::make_unique<Instance>(db_->url(), node, prices_, instruments_, SystemClock());
  }

  std::unique_ptr<TestDatabase> db_;
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
};

bool Disjoint(const std::set<std::string>& a, const std::set<std::string>& b) {
  for (const auto& x : a) {
    if (b.contains(x)) return false;
  }
  return true;
}

TEST_F(StrategyShardsTest, OneOwnerEachBalancedAndTheSurvivorTakesOverWithPositionsAndOrders) {
  // A starts alone and takes everything.
  auto a = Make("node-a");
  ASSERT_TRUE(WaitFor([&] { return a->Owned().size() == kStrategies; }))
      << "node-a owns " << a->Owned().size();

  // B joins: A gives back down to its share (ceil(6/2) = 3), B takes them.
  auto b = Make("node-b");
  auto balanced = WaitFor([&] {
    auto oa = a->Owned(), ob = b->Owned();
    return oa.size() == 3 && ob.size() == 3 && Disjoint(oa, ob);
  });
  ASSERT_TRUE(balanced) << "a=" << a->Owned().size() << " b=" << b->Owned().size();
  ::testing::Test::RecordProperty("rebalance_ms",
                                  static_cast<int>(absl::ToInt64Milliseconds(*balanced)));
  // Still exactly one owner each, a few rounds later.
  absl::SleepFor(kTtl);
  auto oa = a->Owned(), ob = b->Owned();
  EXPECT_EQ(oa.size() + ob.size(), static_cast<size_t>(kStrategies));
  EXPECT_TRUE(Disjoint(oa, ob));

  // Trading: on the owner it works; a non-owner answers UNAVAILABLE naming
  // the owner and its epoch, and stores nothing.
  std::map<std::string, int64_t> resting;  // strategy -> resting order id
  for (int i = 0; i < kStrategies; ++i) {
    const std::string id = Sid(i);
    Instance& owner = oa.contains(id) ? *a : *b;
    Instance& other = oa.contains(id) ? *b : *a;
    const std::string owner_node = oa.contains(id) ? "node-a" : "node-b";
    OrderRequest market{.strategy_id = id, .client_order_id = id + "m1", .symbol = "BTC-USDT",
                        .side = i % 2 ? Side::kSell : Side::kBuy, .quantity = D("0.3")};
    auto refused = other.control->PlaceOrder(market);
    ASSERT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
    EXPECT_THAT(refused.status().message(),
                HasSubstr(absl::StrCat("strategy ", id, " runs on instance ", owner_node,
                                       " (lease epoch ")));
    auto placed = owner.control->PlaceOrder(market);
    ASSERT_TRUE(placed.ok()) << placed.status();
    EXPECT_EQ(placed->order.status, OrderStatus::kFilled);
    // Signals and lifecycle calls are refused the same way on the non-owner.
    auto stop = other.manager->StopStrategy(id);
    EXPECT_EQ(stop.status().code(), absl::StatusCode::kUnavailable) << stop.status();
    OrderRequest limit{.strategy_id = id, .client_order_id = id + "l1", .symbol = "BTC-USDT",
                       .side = Side::kBuy, .type = OrderType::kLimit, .price = D("63000"),
                       .quantity = D("0.1")};
    auto rest = owner.control->PlaceOrder(limit);
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_EQ(rest->order.status, OrderStatus::kOpen);
    resting[id] = rest->order.id;
  }
  // The refused attempts stored nothing: one market and one limit order each.
  for (int i = 0; i < kStrategies; ++i) {
    std::vector<Order> orders;
    ASSERT_TRUE(a->store->Read([&](Tx& tx) -> absl::Status {
      orders = tx.orders().List({.strategy_id = Sid(i)}, {}).value();
      return absl::OkStatus();
    }).ok());
    EXPECT_EQ(orders.size(), 2u) << Sid(i);
  }

  // Crash of A: its leases are left to expire; A stops trading at once.
  const std::set<std::string> a_had = a->Owned();
  const absl::Time crash = absl::Now();
  a->shards->Stop(/*release=*/false);
  for (const std::string& id : a_had) {
    auto after = a->control->PlaceOrder({.strategy_id = id, .client_order_id = id + "late",
                                         .symbol = "BTC-USDT", .quantity = D("0.1")});
    EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
  }
  auto taken = WaitFor([&] { return b->Owned().size() == kStrategies; });
  ASSERT_TRUE(taken) << "node-b owns " << b->Owned().size();
  const int64_t takeover_ms = absl::ToInt64Milliseconds(absl::Now() - crash);
  ::testing::Test::RecordProperty("takeover_ms", static_cast<int>(takeover_ms));
  std::cerr << "takeover after crash: " << takeover_ms << " ms (ttl "
            << absl::ToInt64Milliseconds(kTtl) << " ms, bound about 5/3 x ttl = "
            << absl::ToInt64Milliseconds(kTtl * 5 / 3) << " ms + loading)\n";

  // The survivor has every position and resting order as stored.
  for (int i = 0; i < kStrategies; ++i) {
    const std::string id = Sid(i);
    std::vector<Position> stored;
    std::vector<Order> stored_resting;
    ASSERT_TRUE(b->store->Read([&](Tx& tx) -> absl::Status {
      stored = tx.positions().ListOpen(id).value();
      stored_resting = tx.orders().ListResting(id).value();
      return absl::OkStatus();
    }).ok());
    auto open = b->control->OpenPositions(id);
    ASSERT_TRUE(open.ok()) << id << ": " << open.status();
    ASSERT_EQ(open->size(), stored.size()) << id;
    ASSERT_EQ(open->size(), 1u) << id;
    EXPECT_EQ((*open)[0].quantity, D("0.3")) << id;
    EXPECT_EQ((*open)[0].id, stored[0].id) << id;
    ASSERT_EQ(stored_resting.size(), 1u) << id;
    EXPECT_EQ(stored_resting[0].id, resting[id]) << id;
    // The same client order id again is a replay, not a second trade.
    auto again = b->control->PlaceOrder({.strategy_id = id, .client_order_id = id + "m1",
                                         .symbol = "BTC-USDT",
                                         .side = i % 2 ? Side::kSell : Side::kBuy,
                                         .quantity = D("0.3")});
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->replayed) << id;
  }
  // The resting orders live on in the survivor's paper exchanges: a price
  // through the limit fills them.
  b->control->OnTicks({prices_.Set("BTC-USDT", "62900", "62900.5", "62900.2")});
  b->control->ProcessPendingTicks();
  for (int i = 0; i < kStrategies; ++i) {
    auto orders = b->portfolio->ListOrders({.strategy_id = Sid(i)});
    ASSERT_TRUE(orders.ok());
    for (const Order& o : *orders) {
      EXPECT_EQ(o.status, OrderStatus::kFilled) << Sid(i) << " " << o.client_order_id;
    }
  }

  // A strategy created on the survivor is taken by it (the only member).
  auto created = b->manager->Create(
      {.spec = {.id = "fresh", .type = "external", .pairs = {"BTC-USDT"}}, .start = true});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(WaitFor([&] { return b->Owned().contains("fresh"); }));
  auto view = b->manager->Get("fresh");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->status, StrategyStatus::kRunning);
}

// Just started (xctld serves before the first round ends): until a round
// read the stored strategies, a trade for an existing strategy is
// UNAVAILABLE "retry", never NOT_FOUND, which a client takes as final.
// Found by the chaos run (docs/cluster.md, "Chaos run").
TEST_F(StrategyShardsTest, BeforeTheFirstRoundATradeIsUnavailableNotUnknown) {
  Instance fresh(db_->url(), "node-a", prices_, instruments_, SystemClock(), /*run=*/false);
  OrderRequest market{.strategy_id = Sid(0), .client_order_id = "early1", .symbol = "BTC-USDT",
                      .side = Side::kBuy, .quantity = D("0.3")};
  auto early = fresh.control->PlaceOrder(market);
  ASSERT_EQ(early.status().code(), absl::StatusCode::kUnavailable) << early.status();
  EXPECT_THAT(early.status().message(),
              HasSubstr("node-a has not read the cluster's strategies yet; retry"));
  ASSERT_TRUE(fresh.shards->Run().ok());
  ASSERT_TRUE(WaitFor([&] { return fresh.Owned().size() == kStrategies; }));
  EXPECT_TRUE(fresh.control->PlaceOrder(market).ok());
}

TEST_F(StrategyShardsTest, CleanStopHandsStrategiesOverWithinARound) {
  auto a = Make("node-a");
  auto b = Make("node-b");
  ASSERT_TRUE(WaitFor([&] {
    auto oa = a->Owned(), ob = b->Owned();
    return oa.size() + ob.size() == kStrategies && Disjoint(oa, ob) && !oa.empty() &&
           !ob.empty();
  }));
  // The stored desired status is untouched by moving.
  const absl::Time stop = absl::Now();
  a.reset();  // Stop(release = true)
  auto taken = WaitFor([&] { return b->Owned().size() == kStrategies; });
  ASSERT_TRUE(taken);
  const int64_t ms = absl::ToInt64Milliseconds(absl::Now() - stop);
  ::testing::Test::RecordProperty("clean_takeover_ms", static_cast<int>(ms));
  std::cerr << "takeover after a clean stop: " << ms << " ms\n";
  for (int i = 0; i < kStrategies; ++i) {
    auto view = b->manager->Get(Sid(i));
    ASSERT_TRUE(view.ok());
    EXPECT_TRUE(view->desired_running) << Sid(i);
    EXPECT_EQ(view->status, StrategyStatus::kRunning) << Sid(i);
  }
}

// Forwarding's view (docs/cluster.md, "Forwarding"): each instance's
// advertised address reaches the others through cluster_members and the
// round's overview; RemoteOwnerOf names the other live owner with its
// address (nothing for strategies run here, nor for unknown ones); a new
// address is published at the next round; after the owner stops cleanly
// the survivor runs its strategies and names no remote owner, and a member
// that left has no address.
TEST_F(StrategyShardsTest, RemoteOwnersAreNamedWithTheirAdvertisedAddresses) {
  auto a = Make("node-a");
  auto b = Make("node-b");
  a->shards->SetAdvertisedAddress("10.0.0.1:50051");
  b->shards->SetAdvertisedAddress("10.0.0.2:50051");
  ASSERT_TRUE(WaitFor([&] {
    auto oa = a->Owned(), ob = b->Owned();
    return oa.size() + ob.size() == kStrategies && Disjoint(oa, ob) && !oa.empty() &&
           !ob.empty() && a->shards->AddressOf("node-b") == "10.0.0.2:50051" &&
           b->shards->AddressOf("node-a") == "10.0.0.1:50051";
  }));
  EXPECT_EQ(a->shards->AddressOf("node-a"), "10.0.0.1:50051");  // its own row too
  EXPECT_EQ(a->shards->AddressOf("node-c"), "");                // no such member
  const std::set<std::string> on_b = b->Owned();
  for (const std::string& id : on_b) {
    EXPECT_FALSE(b->shards->RemoteOwnerOf(id).has_value()) << id << " runs on b";
    auto owner = a->shards->RemoteOwnerOf(id);
    ASSERT_TRUE(owner.has_value()) << id;
    EXPECT_EQ(owner->node, "node-b");
    EXPECT_EQ(owner->address, "10.0.0.2:50051");
    EXPECT_EQ(owner->epoch, *b->shards->HeldEpoch(id));
  }
  EXPECT_FALSE(a->shards->RemoteOwnerOf("not-stored").has_value());
  // A new address is published at the next round.
  b->shards->SetAdvertisedAddress("10.0.0.2:50052");
  ASSERT_TRUE(WaitFor([&] { return a->shards->AddressOf("node-b") == "10.0.0.2:50052"; }));

  // b stops cleanly: its strategies move to a; a stops naming b, and names
  // itself (nothing) once it runs them.
  b.reset();
  ASSERT_TRUE(WaitFor([&] { return a->Owned().size() == kStrategies; }));
  for (const std::string& id : on_b) {
    EXPECT_FALSE(a->shards->RemoteOwnerOf(id).has_value()) << id;
  }
  EXPECT_EQ(a->shards->AddressOf("node-b"), "") << "only live members' addresses";
}

// The owner's writes are fenced by its tenure (docs/cluster.md, "Fencing"):
// an order that passed the in-memory owner check while another instance's
// takeover was committing is refused by the database (LEASE_LOST) and
// stores nothing. The tenure's live-call check follows the keeper's local
// deadline.
TEST_F(StrategyShardsTest, StalledOwnersOrderIsRefusedByTheDatabaseAfterATakeover) {
  auto a = Make("node-a");
  ASSERT_TRUE(WaitFor([&] { return a->Owned().size() == kStrategies; }));
  auto tenure = a->shards->TenureOf("s0");
  ASSERT_TRUE(tenure.ok()) << tenure.status();
  EXPECT_EQ(tenure->fence.lease, "strategy:s0");
  EXPECT_EQ(tenure->fence.holder, "node-a/strategies");
  EXPECT_EQ(tenure->fence.epoch, a->shards->HeldEpoch("s0").value());
  EXPECT_TRUE(tenure->check_time_left(absl::Milliseconds(1)).ok());
  const absl::Status too_long = tenure->check_time_left(kTtl);  // more than is ever left
  EXPECT_EQ(ReasonOf(too_long), reason::kLeaseLost) << too_long;
  EXPECT_THAT(too_long.message(), HasSubstr("1.8 x blofin.timeout_ms"));
  EXPECT_EQ(ReasonOf(a->shards->TenureOf("unknown").status()), reason::kLeaseLost);

  // Another instance's takeover of s0, committing (row updated, not committed).
  PgActivity pg(db_->url());
  // (On a session of its own: pg_stat_activity is read once per transaction.)
  PgActivity taker(db_->url());
  taker.Exec("BEGIN");
  taker.Exec("UPDATE cluster_leases SET holder = 'node-z/strategies', epoch = epoch + 1 "
          "WHERE name = 'strategy:s0'");
  absl::StatusOr<OrderResult> late;
  std::thread trade([&] {
    late = a->control->PlaceOrder({.strategy_id = "s0", .client_order_id = "late",
                                   .symbol = "BTC-USDT", .side = Side::kBuy,
                                   .quantity = D("0.1")});
  });
  // The order passed the owner check and waits at the fence for the row.
  EXPECT_TRUE(pg.AwaitAtLeast([&] { return pg.LockWaiters("FOR SHARE"); }, 1));
  taker.Exec("COMMIT");
  trade.join();
  EXPECT_EQ(late.status().code(), absl::StatusCode::kAborted) << late.status();
  EXPECT_EQ(ReasonOf(late.status()), reason::kLeaseLost);
  EXPECT_THAT(late.status().message(), HasSubstr("node-z/strategies"));
  std::optional<Order> stored;
  ASSERT_TRUE(a->store->Read([&](Tx& tx) -> absl::Status {
    stored = tx.orders().GetByClientOrderId("s0", "late").value();
    return absl::OkStatus();
  }).ok());
  EXPECT_FALSE(stored.has_value());
  // A learns it lost s0 at its next round and stops running it.
  EXPECT_TRUE(WaitFor([&] { return !a->Owned().contains("s0"); }));
  EXPECT_EQ(ReasonOf(a->shards->TenureOf("s0").status()), reason::kLeaseLost);
}

}  // namespace
}  // namespace xctl
