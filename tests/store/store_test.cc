// The store on both backends: migrations, every repository round-tripping
// every column, constraints, transactions, and error mapping.
#include "server/store/store.h"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    auto store = Store::Open({.url = db_->url()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  StrategyRecord Strategy(const std::string& id) {
    StrategyRecord s;
    s.id = id;
    s.name = "Strategy " + id;
    s.type = "sma_cross";
    s.pairs = {"BTC-USDT", "ETH-USDT"};
    s.params = {{"fast", "5"}, {"slow", "20"}, {"note", "quote\"and,comma"}};
    s.starting_balance = D("10000.5");
    s.leverage = D("3");
    s.taker_fee_rate = D("0.0006");
    s.running = true;
    s.credentials_ciphertext = "Y2lwaGVydGV4dA==";
    s.signal_secret_hash = "hash";
    s.created_at_ms = 1700000000123;
    s.updated_at_ms = 1700000000456;
    return s;
  }

  void InsertStrategy(const std::string& id) {
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(Strategy(id)); }).ok());
  }

  Order MakeOrder(const std::string& strategy, const std::string& coid) {
    Order o;
    o.strategy_id = strategy;
    o.client_order_id = coid;
    o.exchange_order_id = "ex-1";
    o.symbol = "BTC-USDT";
    o.side = Side::kSell;
    o.type = OrderType::kLimit;
    o.price = D("64000.123456789");
    o.quantity = D("0.5");
    o.status = OrderStatus::kPartiallyFilled;
    o.filled_quantity = D("0.2");
    o.average_price = D("64000.1");
    o.fee = D("-0.000000001");
    o.reduce_only = true;
    o.mode = TradingMode::kLive;
    o.reject_reason = "why";
    o.create_time_ms = 1700000000001;
    o.update_time_ms = 1700000000002;
    return o;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, MigrationsApplyOnceAndRecordTheVersion) {
  EXPECT_EQ(store_->SchemaVersion(), Store::LatestSchemaVersion());
  EXPECT_GE(Store::LatestSchemaVersion(), 1);
  // Opening again applies nothing and keeps the data.
  InsertStrategy("s1");
  store_.reset();
  auto again = Store::Open({.url = db_->url()});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->SchemaVersion(), Store::LatestSchemaVersion());
  absl::Status st = (*again)->Read([](Tx& tx) { return tx.strategies().Get("s1").status(); });
  EXPECT_TRUE(st.ok()) << st;
}

TEST_P(StoreTest, RefusesADatabaseNewerThanTheBinary) {
  store_.reset();
  {
    // Record a future migration by hand, as a newer xctld would have.
    auto s = Store::Open({.url = db_->url(), .pool_size = 1});
    ASSERT_TRUE(s.ok());
  }
  if (GetParam() == "sqlite") {
    soci::session raw(soci::sqlite3, "db=\"" + db_->url().substr(7) + "\"");
    raw << "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)";
  } else {
    soci::session raw("postgresql", PostgresConnInfo(db_->url()).value());
    raw << "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)";
  }
  auto refused = Store::Open({.url = db_->url()});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("database schema version 9999 is newer than this xctld"));
}

TEST_P(StoreTest, StrategiesRoundTripEveryColumn) {
  StrategyRecord s = Strategy("alpha");
  s.maker_fee_rate.reset();
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
  StrategyRecord got;
  ASSERT_TRUE(store_->Read([&](Tx& tx) {
    auto r = tx.strategies().Get("alpha");
    if (r.ok()) got = *r;
    return r.status();
  }).ok());
  EXPECT_EQ(got.name, s.name);
  EXPECT_EQ(got.type, s.type);
  EXPECT_EQ(got.pairs, s.pairs);
  EXPECT_EQ(got.params, s.params);
  EXPECT_EQ(got.starting_balance, s.starting_balance);
  EXPECT_EQ(got.leverage, s.leverage);
  EXPECT_EQ(got.taker_fee_rate, s.taker_fee_rate);
  EXPECT_FALSE(got.maker_fee_rate.has_value());
  EXPECT_TRUE(got.running);
  EXPECT_EQ(got.credentials_ciphertext, s.credentials_ciphertext);
  EXPECT_EQ(got.signal_secret_hash, s.signal_secret_hash);
  EXPECT_EQ(got.created_at_ms, s.created_at_ms);
  EXPECT_EQ(got.updated_at_ms, s.updated_at_ms);
  EXPECT_FALSE(got.deleted_at_ms.has_value());

  // Update clears nullable columns and changes the rest.
  got.credentials_ciphertext.reset();
  got.running = false;
  got.pairs = {"SOL-USDT"};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Update(got); }).ok());
  ASSERT_TRUE(store_->Read([&](Tx& tx) {
    auto r = tx.strategies().Get("alpha");
    EXPECT_FALSE(r->credentials_ciphertext.has_value());
    EXPECT_FALSE(r->running);
    EXPECT_THAT(r->pairs, ::testing::ElementsAre("SOL-USDT"));
    return r.status();
  }).ok());

  // Duplicate id, soft delete, missing.
  absl::Status dup = store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); });
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().SoftDelete("alpha", 5); }).ok());
  absl::Status gone = store_->Read([&](Tx& tx) { return tx.strategies().Get("alpha").status(); });
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  absl::Status missing = store_->Transact([&](Tx& tx) { return tx.strategies().Update(Strategy("nope")); });
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, OrdersAndFillsRoundTripEveryColumn) {
  InsertStrategy("s1");
  Order o = MakeOrder("s1", "c1");
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.orders().Insert(&o); }).ok());
  ASSERT_GT(o.id, 0);
  Fill f{.order_id = o.id, .strategy_id = "s1", .symbol = "BTC-USDT", .side = Side::kSell,
         .price = D("64000.123456789"), .quantity = D("0.2"), .fee = D("7.680014815"),
         .maker = true, .mode = TradingMode::kLive, .exchange_fill_id = "t-9",
         .time_ms = 1700000000003};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.fills().Insert(&f); }).ok());
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto got = tx.orders().Get(o.id);
    if (!got.ok()) return got.status();
    EXPECT_EQ(got->strategy_id, "s1");
    EXPECT_EQ(got->client_order_id, "c1");
    EXPECT_EQ(got->exchange_order_id, "ex-1");
    EXPECT_EQ(got->symbol, "BTC-USDT");
    EXPECT_EQ(got->side, Side::kSell);
    EXPECT_EQ(got->type, OrderType::kLimit);
    EXPECT_EQ(got->price, D("64000.123456789"));
    EXPECT_EQ(got->quantity, D("0.5"));
    EXPECT_EQ(got->status, OrderStatus::kPartiallyFilled);
    EXPECT_EQ(got->filled_quantity, D("0.2"));
    EXPECT_EQ(got->average_price, D("64000.1"));
    EXPECT_EQ(got->fee, D("-0.000000001"));
    EXPECT_TRUE(got->reduce_only);
    EXPECT_EQ(got->mode, TradingMode::kLive);
    EXPECT_EQ(got->reject_reason, "why");
    EXPECT_EQ(got->create_time_ms, 1700000000001);
    EXPECT_EQ(got->update_time_ms, 1700000000002);
    auto by_coid = tx.orders().GetByClientOrderId("s1", "c1");
    EXPECT_TRUE(by_coid.ok() && by_coid->has_value() && (*by_coid)->id == o.id);
    auto none = tx.orders().GetByClientOrderId("s1", "c2");
    EXPECT_TRUE(none.ok() && !none->has_value());
    auto fills = tx.fills().ListByOrder(o.id);
    EXPECT_TRUE(fills.ok());
    EXPECT_EQ(fills->size(), 1u);
    EXPECT_EQ(fills->at(0).price, D("64000.123456789"));
    EXPECT_EQ(fills->at(0).fee, D("7.680014815"));
    EXPECT_TRUE(fills->at(0).maker);
    EXPECT_EQ(fills->at(0).exchange_fill_id, "t-9");
    EXPECT_EQ(fills->at(0).time_ms, 1700000000003);
    auto resting = tx.orders().ListRestingBySymbol("BTC-USDT");
    EXPECT_EQ(resting->size(), 1u);
    return absl::OkStatus();
  }).ok());

  // Market order: no price; update to filled leaves the resting list.
  o.status = OrderStatus::kFilled;
  o.price.reset();
  o.filled_quantity = D("0.5");
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.orders().Update(o); }).ok());
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    EXPECT_FALSE(tx.orders().Get(o.id)->price.has_value());
    EXPECT_TRUE(tx.orders().ListResting("s1")->empty());
    return absl::OkStatus();
  }).ok());
}

TEST_P(StoreTest, ClientOrderIdIsUniquePerStrategy) {
  InsertStrategy("s1");
  InsertStrategy("s2");
  Order a = MakeOrder("s1", "same"), b = MakeOrder("s1", "same"), c = MakeOrder("s2", "same");
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.orders().Insert(&a); }).ok());
  absl::Status dup = store_->Transact([&](Tx& tx) { return tx.orders().Insert(&b); });
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_TRUE(store_->Transact([&](Tx& tx) { return tx.orders().Insert(&c); }).ok());
}

TEST_P(StoreTest, PositionsRoundTripAndAllowOneOpenRowPerSymbol) {
  InsertStrategy("s1");
  Position p{.strategy_id = "s1", .symbol = "ETH-USDT", .side = PositionSide::kShort,
             .open_time_ms = 1700000000000, .open_price = D("3200.5"), .quantity = D("1.5"),
             .fees = D("0.12"), .mode = TradingMode::kPaper, .exchange = "paper"};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.positions().Insert(&p); }).ok());
  Position second = p;
  absl::Status dup = store_->Transact([&](Tx& tx) { return tx.positions().Insert(&second); });
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;

  p.status = PositionStatus::kClosed;
  p.close_time_ms = 1700000360000;
  p.close_price = D("3100.25");
  p.pnl = D("150.255");
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.positions().Update(p); }).ok());
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto got = tx.positions().Get(p.id);
    if (!got.ok()) return got.status();
    EXPECT_EQ(got->strategy_id, "s1");
    EXPECT_EQ(got->symbol, "ETH-USDT");
    EXPECT_EQ(got->side, PositionSide::kShort);
    EXPECT_EQ(got->open_time_ms, 1700000000000);
    EXPECT_EQ(got->close_time_ms, 1700000360000);
    EXPECT_EQ(got->open_price, D("3200.5"));
    EXPECT_EQ(got->close_price, D("3100.25"));
    EXPECT_EQ(got->quantity, D("1.5"));
    EXPECT_EQ(got->status, PositionStatus::kClosed);
    EXPECT_EQ(got->pnl, D("150.255"));
    EXPECT_EQ(got->fees, D("0.12"));
    EXPECT_EQ(got->mode, TradingMode::kPaper);
    EXPECT_EQ(got->exchange, "paper");
    EXPECT_FALSE(tx.positions().GetOpen("s1", "ETH-USDT")->has_value());
    return absl::OkStatus();
  }).ok());
  // A new open row is allowed once the first is closed.
  EXPECT_TRUE(store_->Transact([&](Tx& tx) { return tx.positions().Insert(&second); }).ok());
}

TEST_P(StoreTest, ListsFilterAndPageNewestFirst) {
  InsertStrategy("a");
  InsertStrategy("b");
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> absl::Status {
    for (int i = 0; i < 5; ++i) {
      Position p{.strategy_id = i % 2 ? "a" : "b", .symbol = "BTC-USDT",
                 .open_time_ms = i, .open_price = D("1"), .quantity = D("1"),
                 .status = PositionStatus::kClosed, .exchange = "paper"};
      if (absl::Status s = tx.positions().Insert(&p); !s.ok()) return s;
    }
    return absl::OkStatus();
  }).ok());
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto first = tx.positions().List({}, Page{.limit = 2});
    EXPECT_EQ(first->size(), 2u);
    EXPECT_GT(first->at(0).id, first->at(1).id);
    auto next = tx.positions().List({}, Page{.limit = 10, .before_id = first->at(1).id});
    EXPECT_EQ(next->size(), 3u);
    auto only_a = tx.positions().List({.strategy_id = "a"}, Page{});
    EXPECT_EQ(only_a->size(), 2u);
    auto both = tx.positions().List({.strategy_ids = {"a", "b"}}, Page{});
    EXPECT_EQ(both->size(), 5u);
    auto open = tx.positions().List({.status = PositionStatus::kOpen}, Page{});
    EXPECT_TRUE(open->empty());
    return absl::OkStatus();
  }).ok());
}

TEST_P(StoreTest, AccountsUpsert) {
  InsertStrategy("s1");
  Account a{.strategy_id = "s1", .starting_balance = D("10000"), .balance = D("9990.99"),
            .margin_used = D("640.05"), .leverage = D("10"), .update_time_ms = 7};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.accounts().Upsert(a); }).ok());
  a.balance = D("10010.000000001");
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.accounts().Upsert(a); }).ok());
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto got = tx.accounts().Get("s1");
    EXPECT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->balance, D("10010.000000001"));
    EXPECT_EQ((*got)->margin_used, D("640.05"));
    EXPECT_EQ((*got)->leverage, D("10"));
    EXPECT_FALSE(tx.accounts().Get("zzz")->has_value());
    return absl::OkStatus();
  }).ok());
}

// funding_payments (db/*/0004): one row per (strategy, symbol, settlement
// time); a second insert of the same settlement is a no-op.
TEST_P(StoreTest, FundingPaymentsRoundTripAndCountOncePerSettlement) {
  InsertStrategy("s1");
  FundingPayment f{.strategy_id = "s1", .symbol = "BTC-USDT", .position_id = 7,
                   .settlement_time_ms = 1703462400000, .rate = D("-0.000335"),
                   .price = D("64000.123456789"), .side = PositionSide::kShort,
                   .quantity = D("12.5"), .amount = D("-0.268000517"),
                   .mode = TradingMode::kLive, .record_time_ms = 1703462401000};
  bool first = false, second = true;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> absl::Status {
    auto inserted = tx.funding().InsertOnce(&f);
    if (!inserted.ok()) return inserted.status();
    first = *inserted;
    return absl::OkStatus();
  }).ok());
  EXPECT_TRUE(first);
  EXPECT_GT(f.id, 0);
  FundingPayment again = f;
  again.amount = D("5");  // a retry with other numbers changes nothing
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> absl::Status {
    auto inserted = tx.funding().InsertOnce(&again);
    if (!inserted.ok()) return inserted.status();
    second = *inserted;
    return absl::OkStatus();
  }).ok());
  EXPECT_FALSE(second);
  std::vector<FundingPayment> rows;
  std::optional<int64_t> last, none;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto list = tx.funding().ListByStrategy("s1");
    if (!list.ok()) return list.status();
    rows = *list;
    auto l = tx.funding().LastSettlement("s1", "BTC-USDT");
    if (!l.ok()) return l.status();
    last = *l;
    auto n = tx.funding().LastSettlement("s1", "ETH-USDT");
    if (!n.ok()) return n.status();
    none = *n;
    return absl::OkStatus();
  }).ok());
  ASSERT_EQ(rows.size(), 1u);
  const FundingPayment& r = rows[0];
  EXPECT_EQ(r.id, f.id);
  EXPECT_EQ(r.symbol, "BTC-USDT");
  EXPECT_EQ(r.position_id, 7);
  EXPECT_EQ(r.settlement_time_ms, 1703462400000);
  EXPECT_EQ(r.rate, D("-0.000335"));
  EXPECT_EQ(r.price, D("64000.123456789"));
  EXPECT_EQ(r.side, PositionSide::kShort);
  EXPECT_EQ(r.quantity, D("12.5"));
  EXPECT_EQ(r.amount, D("-0.268000517"));
  EXPECT_EQ(r.mode, TradingMode::kLive);
  EXPECT_EQ(r.source, "computed");
  EXPECT_EQ(r.record_time_ms, 1703462401000);
  EXPECT_EQ(last, 1703462400000);
  EXPECT_FALSE(none.has_value());
}

TEST_P(StoreTest, AFailedTransactionLeavesNothingBehind) {
  InsertStrategy("s1");
  Order o = MakeOrder("s1", "c1");
  absl::Status st = store_->Transact([&](Tx& tx) -> absl::Status {
    if (absl::Status s = tx.orders().Insert(&o); !s.ok()) return s;
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    EXPECT_FALSE(tx.orders().GetByClientOrderId("s1", "c1")->has_value());
    return absl::OkStatus();
  }).ok());
  // A foreign key violation (unknown strategy) is refused and rolled back.
  Order orphan = MakeOrder("ghost", "c9");
  absl::Status fk = store_->Transact([&](Tx& tx) { return tx.orders().Insert(&orphan); });
  EXPECT_FALSE(fk.ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST(StoreOpen, RefusesUnsupportedUrls) {
  auto r = Store::Open({.url = "mysql://root:pw@localhost/x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("expected sqlite:PATH or postgresql://"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr(":pw@")));
}

TEST(StoreOpen, UnreachablePostgresIsUnavailableWithoutThePassword) {
  auto r = Store::Open({.url = "postgresql://xctl:topsecret@127.0.0.1:1/xctl?connect_timeout=3"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("127.0.0.1"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("topsecret")));
}

TEST(StoreOpen, SqliteFolderThatCannotBeCreatedIsNamed) {
  auto r = Store::Open({.url = "sqlite:/proc/xctl/forbidden/x.db"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("cannot create the folder \"/proc/xctl"));
}

}  // namespace
}  // namespace xctl
