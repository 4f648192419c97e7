// BlofinExchange in cluster mode (Deps::tenure, server/exchange/tenure.h;
// docs/cluster.md "Fencing"), against the local BloFin server
// (tests/fake_blofin) on a SQLite file or PostgreSQL: an order placement
// (index.md "Place Order") or cancel ("Cancel Order") is sent only while the
// tenure has the REST timeout left, otherwise refused with LEASE_LOST and
// nothing reaches BloFin; the store writes are fenced by the lease's epoch.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/cluster/lease.h"
#include "server/common/error_reason.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FakeBlofin;
using ::xctl::testing::TestDatabase;

constexpr char kPlace[] = "POST /api/v1/trade/order";
constexpr char kCancel[] = "POST /api/v1/trade/cancel-order";

// One fake BloFin server for the whole suite, stopped at exit.
FakeBlofin& Fake() {
  static FakeBlofin fake;
  return fake;
}

class BlofinTenureTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fake_ = &Fake();
    ASSERT_TRUE(fake_->ok());
    ASSERT_TRUE(fake_->Control("reset", "{}"));
    ASSERT_TRUE(fake_->AddAccount("k7", "tenure-secret", "tenure-phrase"));
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    store_ = Store::Open({.url = db_->url()}).value();
    StrategyRecord s{.id = "live7", .name = "live7", .type = "external", .pairs = {"BTC-USDT"}};
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
    leases_ = cluster::LeaseTable::Open(db_->url(), &lease_clock_).value();
    lease_ = leases_->TryAcquire("strategy:live7", "node-a/strategies", absl::Seconds(10)).value();
    ASSERT_TRUE(lease_.held);

    BlofinExchangeConfig c{.strategy_id = "live7",
                           .credentials = {Secret("k7"), Secret("tenure-secret"),
                                           Secret("tenure-phrase")}};
    c.rest.base_url = fake_->base_url();
    c.rest.timeout_ms = 700;
    c.rest.limits.per_minute = 100000;
    c.rest.limits.trade_per_window = 100000;
    Tenure tenure{.fence = {.lease = lease_.name, .holder = lease_.holder, .epoch = lease_.epoch,
                            .clock = &lease_clock_},
                  .check_time_left = [this](absl::Duration needed) -> absl::Status {
                    asked_ = needed;
                    if (left_ >= needed) return absl::OkStatus();
                    return WithReason(absl::AbortedError("lease strategy:live7 ends too soon"),
                                      reason::kLeaseLost);
                  }};
    exchange_ = BlofinExchange::Open(c, {.store = store_.get(), .instruments = &instruments_,
                                         .clock = &SystemClock(), .tenure = tenure})
                    .value();
  }

  OrderRequest Request(OrderType type, std::string coid) {
    OrderRequest r{.strategy_id = "live7", .client_order_id = std::move(coid),
                   .symbol = "BTC-USDT", .side = Side::kBuy, .type = type,
                   .quantity = Decimal::FromInt(1)};
    if (type == OrderType::kLimit) r.price = Decimal::FromInt(60000);
    return r;
  }
  bool Stored(const std::string& coid) {
    bool found = false;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto got = tx.orders().GetByClientOrderId("live7", coid);
      if (got.ok()) found = got->has_value();
      return got.status();
    }).ok());
    return found;
  }

  FakeBlofin* fake_ = nullptr;
  FakeClock lease_clock_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<cluster::LeaseTable> leases_;
  cluster::Lease lease_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  absl::Duration left_ = absl::Seconds(5);
  absl::Duration asked_;
  std::unique_ptr<BlofinExchange> exchange_;
};

TEST_P(BlofinTenureTest, OrdersAndCancelsGoOutOnlyWithTheTimeoutLeft) {
  auto rest = exchange_->PlaceOrder(Request(OrderType::kLimit, "rest1"));
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(asked_, absl::Milliseconds(700));  // the REST timeout
  EXPECT_EQ(fake_->Requests(kPlace), 1);

  left_ = absl::Milliseconds(699);  // the lease ends before an answer could come
  auto refused = exchange_->PlaceOrder(Request(OrderType::kMarket, "m1"));
  EXPECT_EQ(ReasonOf(refused.status()), reason::kLeaseLost) << refused.status();
  EXPECT_EQ(fake_->Requests(kPlace), 1);  // nothing sent
  EXPECT_FALSE(Stored("m1"));
  auto cancel = exchange_->CancelOrder({.client_order_id = "rest1"});
  EXPECT_EQ(ReasonOf(cancel.status()), reason::kLeaseLost) << cancel.status();
  EXPECT_EQ(fake_->Requests(kCancel), 0);
  
  left_ = absl::Seconds(5);
  EXPECT_TRUE(exchange_->CancelOrder({.client_order_id = "rest1"}).ok());
  EXPECT_EQ(fake_->Requests(kCancel), 1);
}

TEST_P(BlofinTenureTest, WritesAreFencedByTheLeaseEpoch) {
  ASSERT_TRUE(exchange_->PlaceOrder(Request(OrderType::kLimit, "rest1")).ok());
  // Another instance takes the lease after it expired (a stalled owner whose
  // local check still passes): the store refuses this tenure's writes.
  lease_clock_.Advance(absl::Seconds(11));
  ASSERT_TRUE(leases_->TryAcquire("strategy:live7", "node-b/strategies", absl::Seconds(10))
                  .value()
                  .held);
  auto cancel = exchange_->CancelOrder({.client_order_id = "rest1"});
  EXPECT_EQ(ReasonOf(cancel.status()), reason::kLeaseLost) << cancel.status();
  EXPECT_THAT(cancel.status().message(), HasSubstr("node-b/strategies"));
  // Nothing of it was written: the row is as it was (the new owner syncs it
  // from BloFin when it takes the strategy).
  std::optional<xctl::Order> row;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    row = tx.orders().GetByClientOrderId("live7", "rest1").value();
    return absl::OkStatus();
  }).ok());
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, OrderStatus::kOpen);
}

INSTANTIATE_TEST_SUITE_P(Backends, BlofinTenureTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace xctl
