// The ExchangeControl service over real gRPC on loopback, on exchange control
// with paper strategies (SQLite file, fixed prices fed as ticks): every unary
// RPC with its errors, and both streams (snapshot first, then one update per
// batch, filters, heartbeats, shutdown).
#include "server/api/exchange_control_service.h"

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class ExchangeControlServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.url = db_.url()}).value();
    prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2");
    factory_ = std::make_unique<DefaultExchangeFactory>(
        DefaultExchangeFactory::Deps{store_.get(), &prices_, &instruments_, &SystemClock()},
        blofin::RestOptions{});
    portfolio_ = std::make_unique<Portfolio>(
        Portfolio::Deps{store_.get(), &prices_, &instruments_, &SystemClock()});
    control_ = std::make_unique<OrderRouter>(
        OrderRouter::Deps{store_.get(), factory_.get(), portfolio_.get()});
    for (auto [id, type] : {std::pair{"a1", "sma_cross"}, {"a2", "sma_cross"}, {"t1", "tradingview"}}) {
      StrategyRecord r{.id = id, .name = id, .type = type, .pairs = {"BTC-USDT"},
                       .starting_balance = D("10000"), .running = true};
      ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(r); }).ok());
      ASSERT_TRUE(control_->UpsertStrategy({.id = id, .type = type, .pairs = {"BTC-USDT"},
                                            .running = true}).ok());
    }
    control_->Start(nullptr);
    service_ = std::make_unique<api::ExchangeControlService>(
        *control_, *portfolio_, instruments_,
        api::ExchangeControlService::Options{.heartbeat_interval = absl::Milliseconds(300),
                                             .configured_pairs = {"BTC-USDT"}});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::ExchangeControl::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) {
      service_->Shutdown();
      server_->Shutdown();
      server_->Wait();
    }
    control_->Stop();
  }

  grpc::Status Place(const std::string& id, const std::string& qty, v1::PlaceOrderResponse* resp,
                     const std::string& coid = "") {
    grpc::ClientContext ctx;
    v1::PlaceOrderRequest req;
    req.set_strategy_id(id);
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value(qty);
    req.set_client_order_id(coid);
    return stub_->PlaceOrder(&ctx, req, resp);
  }
  void Tick(absl::string_view last) {
    control_->OnTicks({prices_.Set("BTC-USDT", last, last, last)});
  }

  TestDatabase db_{"sqlite"};
  std::unique_ptr<Store> store_;
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  std::unique_ptr<DefaultExchangeFactory> factory_;
  std::unique_ptr<Portfolio> portfolio_;
  std::unique_ptr<OrderRouter> control_;
  std::unique_ptr<api::ExchangeControlService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<v1::ExchangeControl::Stub> stub_;
};

TEST_F(ExchangeControlServiceTest, PlaceOrderReturnsTheFilledOrderAndReplaysARetry) {
  v1::PlaceOrderResponse first, retry;
  ASSERT_TRUE(Place("a1", "1", &first, "abc123").ok());
  EXPECT_EQ(first.order().status(), v1::ORDER_STATUS_FILLED);
  EXPECT_EQ(first.order().average_price().value(), "64000.5");
  EXPECT_EQ(first.order().mode(), v1::TRADING_MODE_PAPER);
  ASSERT_EQ(first.fills_size(), 1);
  EXPECT_EQ(first.fills(0).fee().value(), "0.0384003");
  ASSERT_TRUE(Place("a1", "1", &retry, "abc123").ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.order().id(), first.order().id());
}

TEST_F(ExchangeControlServiceTest, BadRequestsGetStatusesThatNameTheField) {
  v1::PlaceOrderResponse resp;
  grpc::Status st = Place("a1", "-1", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("quantity"));
  st = Place("a1", "abc", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  st = Place("a1", "0.15", &resp);
  EXPECT_THAT(st.error_message(), HasSubstr("lot size 0.1"));
  st = Place("Bad Id", "1", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("strategy_id"));
  {
    grpc::ClientContext ctx;
    v1::PlaceOrderRequest req;
    req.set_strategy_id("a1");
    req.set_symbol("BTC-USDT");
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value("1");
    st = stub_->PlaceOrder(&ctx, req, &resp);
    EXPECT_THAT(st.error_message(), HasSubstr("side: must be SIDE_BUY or SIDE_SELL"));
  }
  {
    grpc::ClientContext ctx;
    v1::CancelOrderRequest req;
    req.set_strategy_id("a1");
    v1::CancelOrderResponse r;
    st = stub_->CancelOrder(&ctx, req, &r);
    EXPECT_THAT(st.error_message(), HasSubstr("exactly one of order_id and client_order_id"));
  }
  {
    grpc::ClientContext ctx;
    v1::ListOrdersRequest req;
    req.set_page_token("garbage");
    v1::ListOrdersResponse r;
    st = stub_->ListOrders(&ctx, req, &r);
    EXPECT_THAT(st.error_message(), HasSubstr("page_token"));
  }
  {
    grpc::ClientContext ctx;
    v1::GetKpisRequest req;
    req.set_strategy_type("nobody-uses-this");
    v1::GetKpisResponse r;
    EXPECT_EQ(stub_->GetKpis(&ctx, req, &r).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(ExchangeControlServiceTest, ListsFilterByTypeAndPage) {
  v1::PlaceOrderResponse resp;
  for (const char* id : {"a1", "a2", "t1"}) ASSERT_TRUE(Place(id, "1", &resp).ok());
  ASSERT_TRUE(Place("a1", "1", &resp).ok());
  grpc::ClientContext ctx;
  v1::ListOrdersRequest req;
  req.set_strategy_type("sma_cross");
  req.set_page_size(2);
  v1::ListOrdersResponse page1;
  ASSERT_TRUE(stub_->ListOrders(&ctx, req, &page1).ok());
  ASSERT_EQ(page1.orders_size(), 2);
  ASSERT_FALSE(page1.next_page_token().empty());
  grpc::ClientContext ctx2;
  req.set_page_token(page1.next_page_token());
  v1::ListOrdersResponse page2;
  ASSERT_TRUE(stub_->ListOrders(&ctx2, req, &page2).ok());
  ASSERT_EQ(page2.orders_size(), 1);
  for (const auto& o : page1.orders()) EXPECT_NE(o.strategy_id(), "t1");
  EXPECT_NE(page2.orders(0).strategy_id(), "t1");

  grpc::ClientContext ctx3;
  v1::ListPositionsRequest preq;
  preq.set_strategy_id("t1");
  v1::ListPositionsResponse positions;
  ASSERT_TRUE(stub_->ListPositions(&ctx3, preq, &positions).ok());
  ASSERT_EQ(positions.positions_size(), 1);
  EXPECT_EQ(positions.positions(0).strategy_type(), "tradingview");
  EXPECT_EQ(positions.positions(0).mark_price().value(), "64000.2");
  EXPECT_EQ(positions.positions(0).unrealized_pnl().value(), "-0.0003");
}

TEST_F(ExchangeControlServiceTest, BalanceInstrumentsAndKpis) {
  v1::PlaceOrderResponse resp;
  ASSERT_TRUE(Place("a1", "1", &resp).ok());
  grpc::ClientContext c1;
  v1::GetBalanceRequest breq;
  breq.set_strategy_id("a1");
  v1::GetBalanceResponse balance;
  ASSERT_TRUE(stub_->GetBalance(&c1, breq, &balance).ok());
  EXPECT_EQ(balance.balance().balance().value(), "9999.9615997");
  EXPECT_EQ(balance.balance().margin_used().value(), "64.0005");
  EXPECT_EQ(balance.balance().currency(), "USDT");

  grpc::ClientContext c2;
  v1::ListInstrumentsResponse instruments;
  ASSERT_TRUE(stub_->ListInstruments(&c2, v1::ListInstrumentsRequest(), &instruments).ok());
  ASSERT_EQ(instruments.instruments_size(), 1);
  EXPECT_EQ(instruments.instruments(0).contract_value().value(), "0.001");

  grpc::ClientContext c3;
  v1::GetKpisResponse kpis;
  ASSERT_TRUE(stub_->GetKpis(&c3, v1::GetKpisRequest(), &kpis).ok());
  EXPECT_TRUE(kpis.total().scope().all());
  EXPECT_EQ(kpis.total().open_positions(), 1);
  EXPECT_EQ(kpis.total().starting_balance().value(), "30000");
  EXPECT_EQ(kpis.strategies_size(), 3);
  EXPECT_EQ(kpis.types_size(), 2);
  EXPECT_FALSE(kpis.total().has_win_rate());  // no closed trade yet: unset
}

TEST_F(ExchangeControlServiceTest, PositionStreamStartsWithASnapshotThenSendsUpdates) {
  v1::PlaceOrderResponse resp;
  ASSERT_TRUE(Place("a1", "1", &resp).ok());
  grpc::ClientContext ctx;
  v1::StreamPositionsRequest req;
  req.set_strategy_type("sma_cross");
  req.set_include_closed(true);
  auto reader = stub_->StreamPositions(&ctx, req);
  v1::StreamPositionsResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.has_snapshot());
  ASSERT_EQ(msg.snapshot().positions_size(), 1);
  EXPECT_EQ(msg.sequence(), 1u);

  ASSERT_TRUE(Place("t1", "1", &resp).ok());  // another type: filtered out
  Tick("64100");
  ASSERT_TRUE(reader->Read(&msg));
  while (msg.has_heartbeat()) ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.has_update());
  ASSERT_EQ(msg.update().positions_size(), 1);
  EXPECT_EQ(msg.update().positions(0).strategy_id(), "a1");
  EXPECT_EQ(msg.update().positions(0).mark_price().value(), "64100");

  // A close arrives as a closed row (include_closed).
  grpc::ClientContext cctx;
  v1::ClosePositionRequest close;
  close.set_strategy_id("a1");
  close.set_symbol("BTC-USDT");
  v1::ClosePositionResponse closed;
  ASSERT_TRUE(stub_->ClosePosition(&cctx, close, &closed).ok());
  ASSERT_EQ(closed.closed_positions_size(), 1);
  bool saw_closed = false;
  for (int i = 0; i < 10 && !saw_closed; ++i) {
    ASSERT_TRUE(reader->Read(&msg));
    for (const auto& p : msg.update().positions()) {
      saw_closed = saw_closed || p.status() == v1::POSITION_STATUS_CLOSED;
    }
  }
  EXPECT_TRUE(saw_closed);
  ctx.TryCancel();
}

TEST_F(ExchangeControlServiceTest, KpiStreamHeartbeatsWhenQuietAndEndsAtShutdown) {
  grpc::ClientContext ctx;
  v1::StreamKpisRequest req;
  req.set_strategy_id("a2");
  auto reader = stub_->StreamKpis(&ctx, req);
  v1::StreamKpisResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.has_snapshot());
  ASSERT_EQ(msg.snapshot().kpis_size(), 1);
  EXPECT_EQ(msg.snapshot().kpis(0).scope().strategy_id(), "a2");
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.has_heartbeat());
  v1::PlaceOrderResponse resp;
  ASSERT_TRUE(Place("a2", "1", &resp).ok());
  do {
    ASSERT_TRUE(reader->Read(&msg));
  } while (msg.has_heartbeat());
  ASSERT_TRUE(msg.has_update());
  EXPECT_EQ(msg.update().kpis(0).open_positions(), 1);
  EXPECT_EQ(service_->open_streams(), 1u);
  service_->Shutdown();
  while (reader->Read(&msg)) {
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ExchangeControlServiceTest, AStreamThatGoesAwayFreesItsSubscription) {
  {
    grpc::ClientContext ctx;
    auto reader = stub_->StreamKpis(&ctx, v1::StreamKpisRequest());
    v1::StreamKpisResponse msg;
    ASSERT_TRUE(reader->Read(&msg));
    EXPECT_EQ(portfolio_->feed().subscriber_count(), 1u);
    ctx.TryCancel();
  }
  for (int i = 0; i < 200 && portfolio_->feed().subscriber_count() > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(portfolio_->feed().subscriber_count(), 0u);
  EXPECT_EQ(service_->open_streams(), 0u);
}

}  // namespace
}  // namespace xctl
