// ExchangeControl with real exchanges: PaperExchange on a SQLite file and
// BlofinExchange on the local BloFin-compatible server, through the default
// factory; prices from a fixed table fed as ticks.
#include "server/control/exchange_control.h"

#include <memory>
#include <set>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FakeBlofin;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class ExchangeControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.ok());
    ASSERT_TRUE(fake_.AddAccount("key", "secret", "pass"));
    store_ = Store::Open({.url = db_.url()}).value();
    Tick("64000", "64000.5", "64000.2");
    blofin::RestOptions rest;
    rest.base_url = fake_.base_url();
    factory_ = std::make_unique<DefaultExchangeFactory>(
        DefaultExchangeFactory::Deps{store_.get(), &prices_, &instruments_, &SystemClock()}, rest);
    control_ = NewControl();
  }

  std::unique_ptr<ExchangeControl> NewControl() {
    return std::make_unique<ExchangeControl>(ExchangeControl::Deps{
        store_.get(), &prices_, &instruments_, factory_.get(), &SystemClock()});
  }

  // Sets the market on both venues and hands the tick to control.
  void Tick(absl::string_view bid, absl::string_view ask, absl::string_view last) {
    TickPtr t = prices_.Set("BTC-USDT", bid, ask, last);
    EXPECT_TRUE(fake_.SetTickers(absl::StrCat(R"({"BTC-USDT":{"bid":")", bid, R"(","ask":")",
                                              ask, R"(","last":")", last, R"("}})")));
    if (control_) {
      control_->OnTicks({t});
      control_->ProcessPendingTicks();
    }
  }

  StrategyInfo Strategy(const std::string& id, const std::string& type, bool live = false) {
    StrategyRecord r{.id = id, .name = id, .type = type, .pairs = {"BTC-USDT"},
                     .starting_balance = D("10000"), .running = true};
    EXPECT_TRUE(store_->Transact([&](Tx& tx) -> absl::Status {
      auto existing = tx.strategies().Get(id);
      return existing.ok() ? absl::OkStatus() : tx.strategies().Insert(r);
    }).ok());
    StrategyInfo info{.id = id, .type = type, .pairs = {"BTC-USDT"}, .running = true,
                      .leverage = D("3")};
    if (live) info.credentials = BlofinCredentials{Secret("key"), Secret("secret"), Secret("pass")};
    return info;
  }

  OrderRequest Buy(const std::string& id, absl::string_view qty = "1") {
    return OrderRequest{.strategy_id = id, .symbol = "BTC-USDT", .side = Side::kBuy,
                        .quantity = D(qty)};
  }

  TestDatabase db_{"sqlite"};
  FakeBlofin fake_;
  std::unique_ptr<Store> store_;
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  std::unique_ptr<DefaultExchangeFactory> factory_;
  std::unique_ptr<ExchangeControl> control_;
};

TEST_F(ExchangeControlTest, PaperWithoutCredentialsLiveWithThemEachSeesItsOwnPositions) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p2", "tradingview")).ok());
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("l1", "sma_cross", /*live=*/true)).ok());
  for (const char* id : {"p1", "p2", "l1"}) ASSERT_TRUE(control_->PlaceOrder(Buy(id)).ok()) << id;
  ASSERT_TRUE(control_->PlaceOrder(Buy("p2", "2")).ok());

  EXPECT_EQ(control_->OpenPositions("p1")->at(0).quantity, D("1"));
  EXPECT_EQ(control_->OpenPositions("p2")->at(0).quantity, D("3"));
  EXPECT_EQ(control_->OpenPositions("l1")->at(0).mode, TradingMode::kLive);
  EXPECT_EQ(control_->OpenPositions("p1")->at(0).mode, TradingMode::kPaper);
  EXPECT_EQ(fake_.OrderCount("key"), 1);

  ExchangeControl::KpiReport sma = control_->GetKpis("", "sma_cross").value();
  ASSERT_EQ(sma.strategies.size(), 2u);
  EXPECT_EQ(sma.strategies[0].name, "l1");
  EXPECT_EQ(sma.strategies[1].name, "p1");
  EXPECT_EQ(sma.total.figures.open_positions, 2);
  EXPECT_EQ(sma.total.figures.fees_paid, D("0.0768006"));  // 2 x 0.0384003
  EXPECT_EQ(sma.total.figures.starting_balance, D("20000"));
  ExchangeControl::KpiReport all = control_->GetKpis("", "").value();
  EXPECT_EQ(all.total.figures.open_positions, 3);
  EXPECT_EQ(all.types.size(), 2u);
  EXPECT_EQ(all.strategies.size(), 3u);
}

TEST_F(ExchangeControlTest, RequestsAreValidatedBeforeAnyExchangeSeesThem) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  EXPECT_EQ(control_->PlaceOrder(Buy("ghost")).status().code(), absl::StatusCode::kNotFound);
  OrderRequest eth = Buy("p1");
  eth.symbol = "ETH-USDT";
  auto pair = control_->PlaceOrder(eth);
  EXPECT_EQ(pair.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pair.status().message(), HasSubstr("not one of strategy p1's pairs (BTC-USDT)"));
  OrderRequest coid = Buy("p1");
  coid.client_order_id = "has spaces";
  EXPECT_EQ(control_->PlaceOrder(coid).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(control_->SetRunning("p1", false).ok());
  auto stopped = control_->PlaceOrder(Buy("p1"));
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(stopped.status().message(), HasSubstr("stopped"));
  EXPECT_TRUE(control_->ListOrders({.strategy_id = "p1"})->empty());
}

TEST_F(ExchangeControlTest, CredentialsSwitchTheModeForNewOrdersAndOldRowsKeepTheirs) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("s1", "tradingview")).ok());
  ASSERT_TRUE(control_->PlaceOrder(Buy("s1")).ok());
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("s1", "tradingview", /*live=*/true)).ok());
  auto mixed = control_->PlaceOrder(Buy("s1"));
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(mixed.status().message(), HasSubstr("open paper position"));
  // The paper row closes through the paper exchange; BloFin sees nothing.
  OrderResult closed = control_->ClosePosition("s1", {.symbol = "BTC-USDT"}).value();
  EXPECT_EQ(closed.order.mode, TradingMode::kPaper);
  EXPECT_EQ(fake_.OrderCount("key"), 0);
  OrderResult live = control_->PlaceOrder(Buy("s1")).value();
  EXPECT_EQ(live.order.mode, TradingMode::kLive);
  EXPECT_EQ(fake_.OrderCount("key"), 1);
  // And back to paper: the live row keeps its mode and closes on BloFin.
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("s1", "tradingview")).ok());
  EXPECT_EQ(control_->OpenPositions("s1")->at(0).mode, TradingMode::kLive);
  EXPECT_EQ(control_->ClosePosition("s1", {.symbol = "BTC-USDT"})->order.mode,
            TradingMode::kLive);
  EXPECT_EQ(fake_.OrderCount("key"), 2);
  EXPECT_EQ(control_->PlaceOrder(Buy("s1"))->order.mode, TradingMode::kPaper);
}

TEST_F(ExchangeControlTest, EveryTickMarksOpenPositionsAndPublishesOneBatch) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  ASSERT_TRUE(control_->PlaceOrder(Buy("p1")).ok());
  int ready = 0;
  auto sub = control_->feed().Subscribe({}, true, true, [&] { ++ready; });
  Tick("64099.5", "64100.5", "64100");
  FeedSubscription::Batch batch = sub->Drain();
  EXPECT_EQ(ready, 1);
  ASSERT_EQ(batch.positions.size(), 1u);
  EXPECT_EQ(batch.positions[0].mark_price, D("64100"));
  EXPECT_EQ(batch.positions[0].unrealized_pnl, D("0.0995"));  // (64100 - 64000.5) x 0.001
  EXPECT_EQ(batch.positions[0].strategy_type, "sma_cross");
  ASSERT_EQ(batch.kpis.size(), 3u);  // strategy, type, all
  // KPIs count the open row's fee against it (docs/kpis.md): 0.0995 - 0.0384003.
  for (const KpiView& k : batch.kpis) EXPECT_EQ(k.figures.unrealized_pnl, D("0.0610997"));
  ExchangeControl::BalanceView balance = control_->GetBalance("p1").value();
  EXPECT_EQ(balance.equity, D("10000.0610997"));  // 9999.9615997 + 0.0995
}

TEST_F(ExchangeControlTest, ManyPositionsOnOnePairConflateToOneStatePerPosition) {
  constexpr int kStrategies = 40;
  for (int i = 0; i < kStrategies; ++i) {
    std::string id = absl::StrCat("s", i);
    ASSERT_TRUE(control_->UpsertStrategy(Strategy(id, "sma_cross")).ok());
    ASSERT_TRUE(control_->PlaceOrder(Buy(id)).ok());
  }
  auto sub = control_->feed().Subscribe({.strategy_type = "sma_cross"}, true, false, [] {});
  for (int t = 0; t < 10; ++t) Tick("64000", "64001", absl::StrCat("6400", t));
  FeedSubscription::Batch batch = sub->Drain();
  EXPECT_EQ(batch.positions.size(), static_cast<size_t>(kStrategies));
  EXPECT_EQ(batch.conflated, static_cast<uint64_t>(kStrategies * 9));
  for (const PositionView& v : batch.positions) EXPECT_EQ(v.mark_price, D("64009"));
}

TEST_F(ExchangeControlTest, OpenPositionsListedFromMemoryPageLikeTheStore) {
  for (int i = 0; i < 30; ++i) {
    std::string id = absl::StrCat("s", i);
    ASSERT_TRUE(control_->UpsertStrategy(Strategy(id, i % 3 ? "sma_cross" : "tradingview")).ok());
    ASSERT_TRUE(control_->PlaceOrder(Buy(id)).ok());
    if (i % 4 == 0) ASSERT_TRUE(control_->ClosePosition(id, {.symbol = "BTC-USDT"}).ok());
  }
  Tick("64099.5", "64100.5", "64100");
  struct Case {
    ExchangeControl::Query query;
    PositionFilter filter;
  };
  std::vector<Case> cases = {
      {{}, {}},
      {{.strategy_type = "tradingview"}, {}},
      {{.strategy_id = "s5"}, {.strategy_id = "s5"}},
      {{.symbol = "BTC-USDT"}, {.symbol = "BTC-USDT"}},
      {{.symbol = "ETH-USDT"}, {.symbol = "ETH-USDT"}},
  };
  for (int i = 0; i < 30; i += 3) cases[1].filter.strategy_ids.push_back(absl::StrCat("s", i));
  for (Case& c : cases) {
    c.query.position_status = PositionStatus::kOpen;
    c.filter.status = PositionStatus::kOpen;
    std::vector<Position> stored;
    ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto rows = tx.positions().List(c.filter, {.limit = 1000});
      if (rows.ok()) stored = *rows;
      return rows.status();
    }).ok());
    std::vector<PositionView> listed;
    c.query.page.limit = 7;
    while (true) {
      std::vector<PositionView> page = control_->ListPositions(c.query).value();
      listed.insert(listed.end(), page.begin(), page.end());
      if (static_cast<int>(page.size()) < c.query.page.limit) break;
      c.query.page.before_id = page.back().position.id;
    }
    ASSERT_EQ(listed.size(), stored.size()) << c.query.strategy_type << c.query.strategy_id;
    for (size_t i = 0; i < listed.size(); ++i) {
      EXPECT_EQ(listed[i].position.id, stored[i].id);
      EXPECT_EQ(listed[i].position.quantity, stored[i].quantity);
      EXPECT_EQ(listed[i].mark_price, D("64100"));
      EXPECT_EQ(listed[i].unrealized_pnl, D("0.0995"));  // (64100 - 64000.5) x 0.001
      EXPECT_EQ(listed[i].strategy_type, (std::stoi(stored[i].strategy_id.substr(1)) % 3)
                                             ? "sma_cross" : "tradingview");
    }
  }
}

TEST_F(ExchangeControlTest, RunningAggregatesEqualThoseRebuiltFromTheStore) {
  // Trades, partial closes and ticks across two types; then a new control
  // loads the same store: every aggregate figure must agree.
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(control_->UpsertStrategy(
        Strategy(absl::StrCat("s", i), i % 2 ? "sma_cross" : "tradingview")).ok());
  }
  const char* lasts[] = {"64100", "63950", "64210", "64005", "63880"};
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 12; ++i) {
      std::string id = absl::StrCat("s", i);
      OrderRequest r = Buy(id, (i + round) % 3 ? "2" : "1");
      if ((i + round) % 4 == 0) r.side = Side::kSell;
      auto placed = control_->PlaceOrder(r);
      ASSERT_TRUE(placed.ok()) << id << " round " << round << ": " << placed.status();
    }
    Tick(lasts[round], absl::StrCat(lasts[round], ".5"), lasts[round]);
  }
  ExchangeControl::KpiReport running = control_->GetKpis("", "").value();
  control_ = NewControl();
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(control_->UpsertStrategy(
        Strategy(absl::StrCat("s", i), i % 2 ? "sma_cross" : "tradingview")).ok());
  }
  ExchangeControl::KpiReport rebuilt = control_->GetKpis("", "").value();
  ASSERT_EQ(running.types.size(), rebuilt.types.size());
  auto same = [](const KpiFigures& a, const KpiFigures& b, const std::string& what) {
    EXPECT_EQ(a.unrealized_pnl, b.unrealized_pnl) << what;
    EXPECT_EQ(a.realized_pnl, b.realized_pnl) << what;
    EXPECT_EQ(a.fees_paid, b.fees_paid) << what;
    EXPECT_EQ(a.open_positions, b.open_positions) << what;
    EXPECT_EQ(a.closed_trades, b.closed_trades) << what;
    ASSERT_EQ(a.open_exposure.size(), b.open_exposure.size()) << what;
    for (size_t i = 0; i < a.open_exposure.size(); ++i) {
      EXPECT_EQ(a.open_exposure[i].symbol, b.open_exposure[i].symbol) << what;
      EXPECT_EQ(a.open_exposure[i].quantity, b.open_exposure[i].quantity) << what;
      EXPECT_EQ(a.open_exposure[i].notional, b.open_exposure[i].notional) << what;
    }
  };
  same(running.total.figures, rebuilt.total.figures, "all");
  for (size_t i = 0; i < running.types.size(); ++i) {
    same(running.types[i].figures, rebuilt.types[i].figures, running.types[i].name);
  }
  for (size_t i = 0; i < running.strategies.size(); ++i) {
    same(running.strategies[i].figures, rebuilt.strategies[i].figures,
         running.strategies[i].name);
  }
  EXPECT_GT(running.total.figures.closed_trades, 0);
  EXPECT_GT(running.total.figures.open_positions, 0);
}

TEST_F(ExchangeControlTest, ARetriedClientOrderIdDoesNotRollPositionsBack) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  OrderRequest first = Buy("p1");
  first.client_order_id = "first1";
  ASSERT_TRUE(control_->PlaceOrder(first).ok());
  OrderRequest second = Buy("p1", "2");
  second.client_order_id = "second2";
  ASSERT_TRUE(control_->PlaceOrder(second).ok());
  // The retry answers with the first call's stored result (1 contract open);
  // what control holds must stay the newer state (3).
  OrderResult retry = control_->PlaceOrder(first).value();
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(control_->OpenPositions("p1")->at(0).quantity, D("3"));
  std::vector<PositionView> open =
      control_->ListPositions({.position_status = PositionStatus::kOpen}).value();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].position.quantity, D("3"));
  EXPECT_EQ(control_->GetKpis("p1", "")->total.figures.fees_paid,
            control_->GetKpis("", "")->total.figures.fees_paid);
}

TEST_F(ExchangeControlTest, RestingLimitOrderFillsOnATickAndIsPublished) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  OrderRequest limit = Buy("p1");
  limit.type = OrderType::kLimit;
  limit.price = D("63900");
  ASSERT_TRUE(control_->PlaceOrder(limit).ok());
  auto sub = control_->feed().Subscribe({.strategy_id = "p1"}, true, true, [] {});
  EXPECT_TRUE(control_->OpenPositions("p1")->empty());
  Tick("63890", "63895", "63892");
  EXPECT_EQ(control_->OpenPositions("p1")->size(), 1u);
  FeedSubscription::Batch batch = sub->Drain();
  ASSERT_EQ(batch.positions.size(), 1u);
  EXPECT_EQ(batch.positions[0].position.open_price, D("63900"));
  ASSERT_EQ(batch.kpis.size(), 1u);  // the strategy filter takes its own KPIs only
  EXPECT_EQ(batch.kpis[0].figures.open_positions, 1);
}

TEST_F(ExchangeControlTest, ARestartBringsBackPositionsAndKpis) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  ASSERT_TRUE(control_->PlaceOrder(Buy("p1", "2")).ok());
  Tick("64100", "64100.5", "64100.2");
  ASSERT_TRUE(control_->ClosePosition("p1", {.symbol = "BTC-USDT", .quantity = D("1")}).ok());
  KpiFigures before = control_->GetKpis("p1", "")->total.figures;
  control_.reset();
  store_ = Store::Open({.url = db_.url()}).value();
  factory_ = std::make_unique<DefaultExchangeFactory>(
      DefaultExchangeFactory::Deps{store_.get(), &prices_, &instruments_, &SystemClock()},
      blofin::RestOptions{});
  control_ = NewControl();
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  KpiFigures after = control_->GetKpis("p1", "")->total.figures;
  EXPECT_EQ(after.realized_pnl, before.realized_pnl);
  EXPECT_EQ(after.fees_paid, before.fees_paid);
  EXPECT_EQ(after.closed_trades, 1);
  EXPECT_EQ(after.open_positions, 1);
  EXPECT_EQ(control_->OpenPositions("p1")->at(0).quantity, D("1"));
}

TEST_F(ExchangeControlTest, ALiveStrategyWhoseReconciliationFailsIsNotAdded) {
  StrategyInfo bad = Strategy("l1", "sma_cross", /*live=*/true);
  bad.credentials->api_secret = Secret("wrong");
  absl::Status s = control_->UpsertStrategy(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("reconciliation with BloFin failed"));
  EXPECT_THAT(s.message(), HasSubstr("152409"));
  EXPECT_FALSE(control_->Info("l1").has_value());
}

TEST_F(ExchangeControlTest, TheWorkerFollowsThePriceBus) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  ASSERT_TRUE(control_->PlaceOrder(Buy("p1")).ok());
  absl::Notification got;
  auto sub = control_->feed().Subscribe({}, true, false, [&] {
    if (!got.HasBeenNotified()) got.Notify();
  });
  control_->Start(nullptr);
  control_->OnTicks({prices_.Set("BTC-USDT", "64200", "64201", "64200.5")});
  EXPECT_TRUE(got.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(sub->Drain().positions.at(0).mark_price, D("64200.5"));
  control_->Stop();
}

// Tests inject their own exchanges through the same factory interface.
class RecordingExchange : public Exchange {
 public:
  RecordingExchange(std::string id, TradingMode mode, std::vector<std::string>* log)
      : id_(std::move(id)), mode_(mode), log_(log) {}
  absl::string_view name() const override { return "recording"; }
  TradingMode mode() const override { return mode_; }
  const std::string& strategy_id() const override { return id_; }
  absl::StatusOr<OrderResult> PlaceOrder(const OrderRequest& r) override {
    log_->push_back(absl::StrCat(ToString(mode_), " place ", r.symbol));
    return absl::UnavailableError("recording exchange: nothing placed");
  }
  absl::StatusOr<Order> CancelOrder(const CancelRequest&) override {
    return absl::NotFoundError("none");
  }
  absl::StatusOr<OrderResult> ClosePosition(const CloseRequest&) override {
    return absl::FailedPreconditionError("none");
  }
  absl::StatusOr<std::vector<Order>> OpenOrders() override { return std::vector<Order>{}; }
  absl::StatusOr<std::vector<Position>> Positions() override { return std::vector<Position>{}; }
  absl::StatusOr<Account> Balance() override { return Account{}; }
  absl::StatusOr<Instrument> GetInstrument(absl::string_view s) override {
    return GenericInstrument(s);
  }
  absl::StatusOr<ReconcileReport> Reconcile() override {
    log_->push_back(absl::StrCat(ToString(mode_), " reconcile"));
    return ReconcileReport{};
  }

 private:
  std::string id_;
  TradingMode mode_;
  std::vector<std::string>* log_;
};

class RecordingFactory : public ExchangeFactory {
 public:
  absl::StatusOr<std::unique_ptr<Exchange>> Make(const StrategyInfo& info,
                                                 TradingMode mode) override {
    log.push_back(absl::StrCat("make ", info.id, " ", ToString(mode)));
    return std::make_unique<RecordingExchange>(info.id, mode, &log);
  }
  std::vector<std::string> log;
};

TEST_F(ExchangeControlTest, TheInjectedFactoryChoosesByCredentialsAndLiveIsReconciledFirst) {
  RecordingFactory factory;
  ExchangeControl control(ExchangeControl::Deps{store_.get(), &prices_, &instruments_, &factory,
                                                &SystemClock()});
  ASSERT_TRUE(control.UpsertStrategy(Strategy("p", "x")).ok());
  ASSERT_TRUE(control.UpsertStrategy(Strategy("l", "x", /*live=*/true)).ok());
  EXPECT_EQ(control.PlaceOrder(Buy("l")).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(control.PlaceOrder(Buy("p")).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(factory.log, ::testing::ElementsAre("make p paper", "make l live", "live reconcile",
                                                  "live place BTC-USDT", "paper place BTC-USDT"));
}

}  // namespace
}  // namespace xctl

namespace xctl {
namespace {

// docs/kpis.md "Funding, liquidations and the unexplained": BloFin lists no
// account funding payments, so a live strategy's funding is computed from
// "GET Funding Rate History"; what the account's balance ("GET Futures
// Account Balance") shows beyond the records is `unexplained`, and equity
// follows the account. The fake does not charge funding, so the whole
// computed amount comes back as unexplained.
TEST_F(ExchangeControlTest, LiveFundingIsComputedAndTheAccountsRestIsUnexplained) {
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("l1", "sma_cross", /*live=*/true)).ok());
  ASSERT_TRUE(control_->PlaceOrder(Buy("l1", "10")).ok());
  const Position open = control_->OpenPositions("l1")->at(0);
  // One settlement at the opening (counted), one before it (not).
  ASSERT_TRUE(fake_.Control(
      "funding-history",
      absl::StrCat(R"({"BTC-USDT":[{"fundingRate":"0.0001","fundingTime":")", open.open_time_ms,
                   R"("},{"fundingRate":"0.0002","fundingTime":")", open.open_time_ms - 3600000,
                   R"("}]})")));
  Tick("64000", "64000.5", "64000.2");
  KpiFigures k = control_->GetKpis("l1", "")->total.figures;
  // 0.0001 x 10 x 0.001 x 64000.2, paid by the long.
  EXPECT_EQ(k.funding, D("-0.0640002"));
  EXPECT_EQ(k.unexplained, D("0.0640002"));
  ExchangeControl::BalanceView balance = control_->GetBalance("l1").value();
  EXPECT_EQ(k.equity, balance.account.balance + balance.unrealized_pnl);
  EXPECT_EQ(control_->GetKpis("", "sma_cross")->total.figures.unexplained, D("0.0640002"));
  std::vector<FundingPayment> rows;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto list = tx.funding().ListByStrategy("l1");
    if (list.ok()) rows = *list;
    return list.status();
  }).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].mode, TradingMode::kLive);
  EXPECT_EQ(rows[0].settlement_time_ms, open.open_time_ms);
  // index.md "GET Funding Rate History" request parameters only.
  rapidjson::Document log;
  log.Parse(fake_.ControlGet("requests?path=/api/v1/market/funding-rate-history").c_str());
  ASSERT_TRUE(log.HasMember("requests"));
  ASSERT_GE(log["requests"].Size(), 1u);
  for (const auto& entry : log["requests"].GetArray()) {
    for (const auto& param : entry["query"].GetObject()) {
      EXPECT_TRUE(std::set<std::string>({"instId", "before", "after", "limit"})
                      .contains(param.name.GetString()))
          << param.name.GetString();
    }
  }
}

}  // namespace
}  // namespace xctl

namespace xctl {
namespace {

// A negative `fee` from BloFin (index.md, "GET Trade History": a rebate) is
// kept with its sign: fees_paid goes below zero and equity above the start.
TEST_F(ExchangeControlTest, ALiveMakerRebateIncreasesTheKpiBalance) {
  ASSERT_TRUE(fake_.Control("settings", R"({"maker_fee":"-0.0001"})"));
  ASSERT_TRUE(control_->UpsertStrategy(Strategy("l1", "sma_cross", /*live=*/true)).ok());
  OrderRequest limit = Buy("l1", "1");
  limit.type = OrderType::kLimit;
  limit.price = D("63990");
  ASSERT_TRUE(control_->PlaceOrder(limit).ok());
  Tick("63985", "63986", "63985");  // BloFin fills the resting buy as a maker
  KpiFigures k = control_->GetKpis("l1", "")->total.figures;
  ASSERT_EQ(k.open_positions, 1);
  EXPECT_EQ(k.fees_paid, D("-0.006399"));  // 63990 x 1 x 0.001 x -0.0001
  // start + rebate + (63985 - 63990) x 1 x 0.001 at the mark
  EXPECT_EQ(k.equity, k.starting_balance + D("0.006399") - D("0.005"));
  ExchangeControl::BalanceView balance = control_->GetBalance("l1").value();
  EXPECT_EQ(balance.account.balance, k.starting_balance + D("0.006399"));
  EXPECT_EQ(control_->GetKpis("l1", "")->total.figures.unexplained, D("0"));  // all explained
}

}  // namespace
}  // namespace xctl
