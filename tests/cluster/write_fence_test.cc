// Fenced writes (server/store/write_fence.h, docs/cluster.md "Fencing") on
// both backends (PostgreSQL from XCTL_TEST_PG_URL, skipped without it unless
// XCTL_REQUIRE_PG=1): two holders of one strategy lease on a LeaseTable
// with a FakeClock, each with the PaperExchange of its tenure. The deposed
// holder's writes (a market fill, a resting order's fill on a tick, a
// cancel) fail with LEASE_LOST and leave no row; the new holder's succeed
// and its positions equal its fills. On PostgreSQL: a takeover racing a
// fenced write never lets both commit (in either order), and a fenced
// transaction left idle is ended by the server so it cannot block a takeover.
#include "server/store/write_fence.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/cluster/lease.h"
#include "server/common/clock.h"
#include "server/common/error_reason.h"
#include "server/exchange/paper/paper_exchange.h"
#include "server/store/store.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/pg_activity.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

constexpr char kLease[] = "strategy:s1";
constexpr absl::Duration kTtl = absl::Seconds(10);

using ::testing::HasSubstr;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::PgActivity;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view text) { return Decimal::Parse(text).value(); }

OrderRequest Market(Side side, absl::string_view qty, std::string coid) {
  return OrderRequest{.strategy_id = "s1", .client_order_id = std::move(coid),
                      .symbol = "BTC-USDT", .side = side, .type = OrderType::kMarket,
                      .quantity = D(qty)};
}

void ExpectLeaseLost(const absl::Status& status, absl::string_view names) {
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_EQ(ReasonOf(status), reason::kLeaseLost) << status;
  EXPECT_THAT(status.message(), HasSubstr(names));
}

class WriteFenceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    store_ = Store::Open({.url = db_->url()}).value();
    StrategyRecord s{.id = "s1", .name = "S1", .type = "external", .pairs = {"BTC-USDT"},
                     .starting_balance = D("10000")};
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
    prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2");
    table_ = cluster::LeaseTable::Open(db_->url(), &clock_).value();
  }

  cluster::Lease Acquire(const std::string& holder) {
    cluster::Lease lease = table_->TryAcquire(kLease, holder, kTtl).value();
    EXPECT_TRUE(lease.held) << holder;
    return lease;
  }
  WriteFence FenceFor(const cluster::Lease& lease) {
    return WriteFence{.lease = lease.name, .holder = lease.holder, .epoch = lease.epoch,
                      .clock = &clock_};
  }
  std::unique_ptr<PaperExchange> OpenExchange(const cluster::Lease& lease) {
    auto ex = PaperExchange::Open({.strategy_id = "s1", .leverage = D("10")},
                                  {.store = store_.get(), .prices = &prices_,
                                   .instruments = &instruments_, .clock = &clock_,
                                   .tenure = Tenure{.fence = FenceFor(lease)}});
    EXPECT_TRUE(ex.ok()) << ex.status();
    return ex.ok() ? *std::move(ex) : nullptr;
  }
  // The lease expires by the table's clock; `holder` takes it (epoch + 1).
  cluster::Lease TakeOverAfterExpiry(const std::string& holder) {
    clock_.Advance(kTtl + absl::Seconds(1));
    return Acquire(holder);
  }

  // What `read(tx)` returns (a StatusOr), read in one store read.
  template <typename T, typename F>
  T ReadStore(F read) {
    T out{};
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto got = read(tx);
      if (got.ok()) out = *std::move(got);
      return got.status();
    }).ok());
    return out;
  }
  std::vector<Order> Orders() {
    return ReadStore<std::vector<Order>>([](Tx& tx) { return tx.orders().List({"s1"}, {}); });
  }
  std::vector<Fill> Fills() {
    return ReadStore<std::vector<Fill>>([](Tx& tx) { return tx.fills().ListByStrategy("s1"); });
  }
  // The net position of the stored fills equals the open row.
  void ExpectPositionEqualsFills() {
    Decimal net;
    for (const Fill& f : Fills()) net = f.side == Side::kBuy ? net + f.quantity : net - f.quantity;
    const auto open = ReadStore<std::optional<Position>>(
        [](Tx& tx) { return tx.positions().GetOpen("s1", "BTC-USDT"); });
    const Decimal held = !open ? Decimal()
                         : open->side == PositionSide::kLong ? open->quantity
                                                             : Decimal() - open->quantity;
    EXPECT_EQ(held, net);
  }
  // An order row as the write under test, in a fenced transaction.
  absl::Status InsertFenced(const WriteFence& fence, const std::string& coid) {
    return store_->Transact(
        [&](Tx& tx) {
          Order o{.strategy_id = "s1", .client_order_id = coid, .symbol = "BTC-USDT",
                  .side = Side::kBuy, .type = OrderType::kMarket, .quantity = D("0.1"),
                  .status = OrderStatus::kOpen, .mode = TradingMode::kPaper};
          return tx.orders().Insert(&o);
        },
        &fence);
  }
  bool Stored(const std::string& coid) {
    return ReadStore<std::optional<Order>>(
               [&](Tx& tx) { return tx.orders().GetByClientOrderId("s1", coid); })
        .has_value();
  }

  FakeClock clock_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  std::unique_ptr<cluster::LeaseTable> table_;
};

TEST_P(WriteFenceTest, DeposedOwnersFillFailsAndLeavesNoRow_NewOwnersSucceeds) {
  const cluster::Lease a_lease = Acquire("node-a/strategies");
  auto a = OpenExchange(a_lease);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->PlaceOrder(Market(Side::kBuy, "0.2", "a1")).ok());

  const cluster::Lease b_lease = TakeOverAfterExpiry("node-b/strategies");
  EXPECT_EQ(b_lease.epoch, a_lease.epoch + 1);
  auto b = OpenExchange(b_lease);
  ASSERT_NE(b, nullptr);

  // A has not noticed (a stalled process): its fill is refused by the
  // database, whole, and names the new holder.
  const Account before = b->Balance().value();
  ExpectLeaseLost(a->PlaceOrder(Market(Side::kBuy, "0.3", "a2")).status(),
                  "now held by node-b/strategies, epoch 2");
  EXPECT_FALSE(Stored("a2"));
  EXPECT_EQ(Fills().size(), 1u);
  EXPECT_EQ(b->Balance().value().balance, before.balance);
  EXPECT_EQ(b->Balance().value().update_time_ms, before.update_time_ms);

  ASSERT_TRUE(b->PlaceOrder(Market(Side::kSell, "0.1", "b1")).ok());
  EXPECT_TRUE(Stored("b1"));
  EXPECT_EQ(Orders().size(), 2u);
  EXPECT_EQ(Fills().size(), 2u);
  ExpectPositionEqualsFills();
}

TEST_P(WriteFenceTest, DeposedOwnersRestingOrderIsFilledOnlyByTheNewOwner) {
  const cluster::Lease a_lease = Acquire("node-a/strategies");
  auto a = OpenExchange(a_lease);
  OrderRequest limit = Market(Side::kBuy, "0.1", "rest1");
  limit.type = OrderType::kLimit;
  limit.price = D("63000");
  ASSERT_TRUE(a->PlaceOrder(limit).ok());

  auto b = OpenExchange(TakeOverAfterExpiry("node-b/strategies"));
  ASSERT_EQ(b->OpenOrders().value().size(), 1u);  // loaded from the store

  // A crossing tick: A's fill fails (logged), B's commits. Once, not twice.
  Tick cross = *prices_.Set("BTC-USDT", "62900", "62900.5", "62900.2");
  EXPECT_TRUE(a->OnTick(cross).empty());
  EXPECT_TRUE(Fills().empty());
  EXPECT_EQ(b->OnTick(cross).size(), 1u);
  EXPECT_EQ(Fills().size(), 1u);
  ExpectPositionEqualsFills();
  // A's cancel of it is refused as well.
  ExpectLeaseLost(a->CancelOrder({.client_order_id = "rest1"}).status(), "epoch 2");
  EXPECT_EQ(Orders().front().status, OrderStatus::kFilled);
}

TEST_P(WriteFenceTest, ExpiredLeaseNobodyTookIsRefusedToo) {
  const cluster::Lease a_lease = Acquire("node-a/strategies");
  const WriteFence fence = FenceFor(a_lease);
  ASSERT_TRUE(InsertFenced(fence, "live").ok());
  clock_.Advance(kTtl);
  ExpectLeaseLost(InsertFenced(fence, "late"), "expired 0 ms ago");
  EXPECT_FALSE(Stored("late"));
  // A released lease is over at once.
  const cluster::Lease again = Acquire("node-a/strategies");
  ASSERT_TRUE(table_->Release(kLease, again.holder, again.epoch).value());
  ExpectLeaseLost(InsertFenced(FenceFor(again), "released"), "expired");
  EXPECT_FALSE(Stored("released"));
  // Never leased: no row.
  ExpectLeaseLost(InsertFenced({.lease = "strategy:nobody", .holder = "x", .epoch = 1,
                                .clock = &clock_},
                               "nobody"),
                  "never taken");
}

TEST_P(WriteFenceTest, UnfencedWritesAreUnchanged) {
  // No fence: nothing is checked (and no lease row is needed).
  ASSERT_TRUE(store_->Transact([&](Tx& tx) {
    Order o{.strategy_id = "s1", .client_order_id = "plain", .symbol = "BTC-USDT",
            .side = Side::kBuy, .type = OrderType::kMarket, .quantity = D("0.1"),
            .status = OrderStatus::kOpen, .mode = TradingMode::kPaper};
    return tx.orders().Insert(&o);
  }).ok());
  EXPECT_TRUE(Stored("plain"));
}

INSTANTIATE_TEST_SUITE_P(Backends, WriteFenceTest, ::testing::Values("sqlite", "postgresql"));

// PostgreSQL only: the row lock that makes the check race-free, with the
// database's own clock (as xctld runs it).
class WriteFenceRaceTest : public WriteFenceTest {};

TEST_P(WriteFenceRaceTest, TakeoverWaitsForAFencedWriteInFlight_ThenItsEpochBegins) {
  const cluster::Lease a_lease = Acquire("node-a/strategies");
  const WriteFence fence = FenceFor(a_lease);
  PgActivity pg(db_->url());
  absl::Notification checked, finish;
  absl::Status a_result;
  std::thread writer([&] {
    a_result = store_->Transact(
        [&](Tx& tx) {
          checked.Notify();  // the fence's check ran: the row is locked
          finish.WaitForNotification();
          Order o{.strategy_id = "s1", .client_order_id = "inflight", .symbol = "BTC-USDT",
                  .side = Side::kBuy, .type = OrderType::kMarket, .quantity = D("0.1"),
                  .status = OrderStatus::kOpen, .mode = TradingMode::kPaper};
          return tx.orders().Insert(&o);
        },
        &fence);
  });
  checked.WaitForNotification();
  clock_.Advance(kTtl + absl::Seconds(1));  // expired by the table's clock
  std::optional<cluster::Lease> b;
  std::atomic<bool> taken{false};
  std::thread taker([&] {
    b = table_->TryAcquire(kLease, "node-b/strategies", kTtl).value();
    taken = true;
  });
  // The taker's statement waits for the writer's lock: it cannot begin a
  // tenure while the write is open.
  EXPECT_TRUE(pg.AwaitAtLeast([&] { return pg.LockWaiters("INSERT INTO cluster_leases"); }, 1));
  EXPECT_FALSE(taken.load());
  finish.Notify();
  writer.join();
  taker.join();
  EXPECT_TRUE(a_result.ok()) << a_result;  // committed before the takeover
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->held);
  EXPECT_EQ(b->epoch, a_lease.epoch + 1);
  EXPECT_TRUE(Stored("inflight"));
  // From the takeover on, A's writes are refused, B's pass.
  ExpectLeaseLost(InsertFenced(fence, "after"), "node-b/strategies");
  EXPECT_FALSE(Stored("after"));
  EXPECT_TRUE(InsertFenced(FenceFor(*b), "b1").ok());
}

TEST_P(WriteFenceRaceTest, WriteWaitsForATakeoverInFlight_ThenIsRefused) {
  const cluster::Lease a_lease = Acquire("node-a/strategies");
  const WriteFence fence = FenceFor(a_lease);
  PgActivity pg(db_->url());
  // Another instance's takeover, open (row updated, not committed yet).
  // (On a session of its own: pg_stat_activity is read once per transaction.)
  PgActivity taker(db_->url());
  taker.Exec("BEGIN");
  taker.Exec("UPDATE cluster_leases SET holder = 'node-b/strategies', epoch = epoch + 1 "
          "WHERE name = 'strategy:s1'");
  absl::Status a_result;
  std::thread writer([&] { a_result = InsertFenced(fence, "racing"); });
  EXPECT_TRUE(pg.AwaitAtLeast([&] { return pg.LockWaiters("FOR SHARE"); }, 1));
  taker.Exec("COMMIT");
  writer.join();
  // The check re-read the row after the wait: the new epoch, refused.
  ExpectLeaseLost(a_result, "now held by node-b/strategies, epoch 2");
  EXPECT_FALSE(Stored("racing"));
}

TEST_P(WriteFenceRaceTest, IdleFencedTransactionIsEndedByTheServer) {
  const cluster::Lease a_lease = Acquire("node-a/strategies");
  WriteFence fence = FenceFor(a_lease);
  fence.idle_timeout = absl::Milliseconds(200);
  PgActivity pg(db_->url());
  absl::Notification inserted, resume;
  absl::Status result;
  std::thread stalled([&] {
    result = store_->Transact(
        [&](Tx& tx) -> absl::Status {
          Order o{.strategy_id = "s1", .client_order_id = "stalled", .symbol = "BTC-USDT",
                  .side = Side::kBuy, .type = OrderType::kMarket, .quantity = D("0.1"),
                  .status = OrderStatus::kOpen, .mode = TradingMode::kPaper};
          absl::Status s = tx.orders().Insert(&o);
          inserted.Notify();
          resume.WaitForNotification();  // the process "stops" here
          return s;
        },
        &fence);
  });
  inserted.WaitForNotification();
  ASSERT_TRUE(pg.AwaitAtLeast([&] { return pg.InState("idle in transaction"); }, 1));
  // The server ends the session after 200 ms idle (locks released) ...
  EXPECT_TRUE(pg.AwaitAtLeast([&] { return pg.InState("idle in transaction") == 0 ? 1 : 0; }, 1));
  // ... so a takeover (after expiry) does not wait for the stalled process.
  clock_.Advance(kTtl + absl::Seconds(1));
  EXPECT_TRUE(table_->TryAcquire(kLease, "node-b/strategies", kTtl).value().held);
  resume.Notify();
  stalled.join();
  EXPECT_FALSE(result.ok());  // its commit fails: nothing kept
  EXPECT_FALSE(Stored("stalled"));
}

INSTANTIATE_TEST_SUITE_P(Postgresql, WriteFenceRaceTest, ::testing::Values("postgresql"));

}  // namespace
}  // namespace xctl
