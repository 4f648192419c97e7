// Bad input on every RPC of a real xctld: empty requests, huge and overlong
// strings, NaN / infinite / negative / malformed numbers, unknown enums,
// strings that are not UTF-8.
// Each gets a clear status with a message (never INTERNAL or UNKNOWN, never a
// crash), nothing is stored, and the server keeps serving.
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/running_xctld.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl {
namespace {

using ::xctl::testing::MakeTempDir;
using ::xctl::testing::RunningXctld;

template <typename Stub, typename Req, typename Resp>
grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  Stub* stub, const Req& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  Resp resp;
  return (stub->*method)(&ctx, req, &resp);
}

v1::PlaceOrderRequest GoodOrder() {
  v1::PlaceOrderRequest r;
  r.set_strategy_id("s1");
  r.set_symbol("BTC-USDT");
  r.set_side(v1::SIDE_BUY);
  r.set_type(v1::ORDER_TYPE_MARKET);
  r.mutable_quantity()->set_value("1");
  return r;
}

TEST(InputE2e, EveryRpcAnswersBadInputWithAClearStatus) {
  const std::string dir = MakeTempDir("input");
  std::ofstream(dir + "/xctl.yaml") << "strategies:\n  - {id: s1, type: external, pairs: [BTC-USDT]}\n"
                                       "  - {id: tv, type: tradingview, pairs: [BTC-USDT]}\n";
  RunningXctld server({"--config=" + dir + "/xctl.yaml"}, dir);
  ASSERT_TRUE(server.ok());
  auto prices = v1::PriceFeed::NewStub(server.channel());
  auto control = v1::ExchangeControl::NewStub(server.channel());
  auto manager = v1::StrategyManager::NewStub(server.channel());
  const std::string huge(1 << 20, 'A');
  const std::string overlong(65, 'a');

  struct Case {
    std::string name;
    std::function<grpc::Status()> call;
  };
  std::vector<Case> cases;
  auto order = [&](std::string name, std::function<void(v1::PlaceOrderRequest&)> change) {
    cases.push_back({"PlaceOrder " + name, [&, change] {
                       v1::PlaceOrderRequest r = GoodOrder();
                       change(r);
                       return Call(&v1::ExchangeControl::Stub::PlaceOrder, control.get(), r);
                     }});
  };
  order("empty", [](auto& r) { r = v1::PlaceOrderRequest(); });
  order("NaN quantity", [](auto& r) { r.mutable_quantity()->set_value("NaN"); });
  order("infinite quantity", [](auto& r) { r.mutable_quantity()->set_value("inf"); });
  order("exponent quantity", [](auto& r) { r.mutable_quantity()->set_value("1e400"); });
  order("negative quantity", [](auto& r) { r.mutable_quantity()->set_value("-1"); });
  order("too many decimals", [](auto& r) { r.mutable_quantity()->set_value("0.0000000001"); });
  order("quantity overflow", [](auto& r) { r.mutable_quantity()->set_value("99999999999999999999"); });
  order("huge symbol", [&](auto& r) { r.set_symbol(huge); });
  order("huge strategy id", [&](auto& r) { r.set_strategy_id(huge); });
  order("overlong strategy id", [&](auto& r) { r.set_strategy_id(overlong); });
  order("huge client order id", [&](auto& r) { r.set_client_order_id(huge); });
  order("unknown side", [](auto& r) { r.set_side(static_cast<v1::Side>(77)); });
  order("unknown type", [](auto& r) { r.set_type(static_cast<v1::OrderType>(-3)); });
  order("negative price", [](auto& r) {
    r.set_type(v1::ORDER_TYPE_LIMIT);
    r.mutable_price()->set_value("-5");
  });
  order("NaN price", [](auto& r) {
    r.set_type(v1::ORDER_TYPE_LIMIT);
    r.mutable_price()->set_value("nan");
  });

  cases.push_back({"CancelOrder bad id", [&] {
                     v1::CancelOrderRequest r;
                     r.set_strategy_id("s1");
                     r.set_order_id("-12x");
                     return Call(&v1::ExchangeControl::Stub::CancelOrder, control.get(), r);
                   }});
  cases.push_back({"ClosePosition NaN", [&] {
                     v1::ClosePositionRequest r;
                     r.set_strategy_id("s1");
                     r.set_symbol("BTC-USDT");
                     r.mutable_quantity()->set_value("NaN");
                     return Call(&v1::ExchangeControl::Stub::ClosePosition, control.get(), r);
                   }});
  cases.push_back({"ClosePosition empty", [&] {
                     return Call(&v1::ExchangeControl::Stub::ClosePosition, control.get(),
                                 v1::ClosePositionRequest());
                   }});
  cases.push_back({"ListPositions negative page", [&] {
                     v1::ListPositionsRequest r;
                     r.set_page_size(-1);
                     return Call(&v1::ExchangeControl::Stub::ListPositions, control.get(), r);
                   }});
  cases.push_back({"ListOrders huge token", [&] {
                     v1::ListOrdersRequest r;
                     r.set_page_token(huge);
                     return Call(&v1::ExchangeControl::Stub::ListOrders, control.get(), r);
                   }});
  cases.push_back({"ListOrders huge symbol", [&] {
                     v1::ListOrdersRequest r;
                     r.set_symbol(huge);
                     return Call(&v1::ExchangeControl::Stub::ListOrders, control.get(), r);
                   }});
  cases.push_back({"GetBalance empty", [&] {
                     return Call(&v1::ExchangeControl::Stub::GetBalance, control.get(),
                                 v1::GetBalanceRequest());
                   }});
  cases.push_back({"ListInstruments bad symbol", [&] {
                     v1::ListInstrumentsRequest r;
                     r.add_symbols(huge);
                     return Call(&v1::ExchangeControl::Stub::ListInstruments, control.get(), r);
                   }});
  cases.push_back({"GetKpis both", [&] {
                     v1::GetKpisRequest r;
                     r.set_strategy_id("s1");
                     r.set_strategy_type("external");
                     return Call(&v1::ExchangeControl::Stub::GetKpis, control.get(), r);
                   }});
  cases.push_back({"ReconcileStrategy empty", [&] {
                     return Call(&v1::ExchangeControl::Stub::ReconcileStrategy, control.get(),
                                 v1::ReconcileStrategyRequest());
                   }});
  cases.push_back({"GetPrice empty", [&] {
                     return Call(&v1::PriceFeed::Stub::GetPrice, prices.get(), v1::GetPriceRequest());
                   }});
  cases.push_back({"GetPrice huge", [&] {
                     v1::GetPriceRequest r;
                     r.set_pair(huge);
                     return Call(&v1::PriceFeed::Stub::GetPrice, prices.get(), r);
                   }});
  cases.push_back({"ListPrices bad pair", [&] {
                     v1::ListPricesRequest r;
                     r.add_pairs("btc usdt");
                     return Call(&v1::PriceFeed::Stub::ListPrices, prices.get(), r);
                   }});
  cases.push_back({"CreateStrategy empty", [&] {
                     return Call(&v1::StrategyManager::Stub::CreateStrategy, manager.get(),
                                 v1::CreateStrategyRequest());
                   }});
  cases.push_back({"CreateStrategy NaN balance", [&] {
                     v1::CreateStrategyRequest r;
                     r.mutable_strategy()->set_type("external");
                     r.mutable_strategy()->add_pairs("BTC-USDT");
                     r.mutable_strategy()->mutable_starting_balance()->set_value("NaN");
                     return Call(&v1::StrategyManager::Stub::CreateStrategy, manager.get(), r);
                   }});
  cases.push_back({"CreateStrategy overlong id", [&] {
                     v1::CreateStrategyRequest r;
                     r.mutable_strategy()->set_id(overlong);
                     r.mutable_strategy()->set_type("external");
                     r.mutable_strategy()->add_pairs("BTC-USDT");
                     return Call(&v1::StrategyManager::Stub::CreateStrategy, manager.get(), r);
                   }});
  cases.push_back({"CreateStrategy huge params", [&] {
                     v1::CreateStrategyRequest r;
                     r.mutable_strategy()->set_type("sma_cross");
                     r.mutable_strategy()->add_pairs("BTC-USDT");
                     (*r.mutable_strategy()->mutable_params())["fast"] = huge;
                     return Call(&v1::StrategyManager::Stub::CreateStrategy, manager.get(), r);
                   }});
  cases.push_back({"UpdateStrategy unknown path", [&] {
                     v1::UpdateStrategyRequest r;
                     r.mutable_strategy()->set_id("s1");
                     r.mutable_update_mask()->add_paths("credentials_ciphertext");
                     return Call(&v1::StrategyManager::Stub::UpdateStrategy, manager.get(), r);
                   }});
  cases.push_back({"DeleteStrategy empty", [&] {
                     return Call(&v1::StrategyManager::Stub::DeleteStrategy, manager.get(),
                                 v1::DeleteStrategyRequest());
                   }});
  cases.push_back({"GetStrategy huge", [&] {
                     v1::GetStrategyRequest r;
                     r.set_id(huge);
                     return Call(&v1::StrategyManager::Stub::GetStrategy, manager.get(), r);
                   }});
  cases.push_back({"StartStrategy empty", [&] {
                     return Call(&v1::StrategyManager::Stub::StartStrategy, manager.get(),
                                 v1::StartStrategyRequest());
                   }});
  cases.push_back({"StopStrategy overlong", [&] {
                     v1::StopStrategyRequest r;
                     r.set_id(overlong);
                     return Call(&v1::StrategyManager::Stub::StopStrategy, manager.get(), r);
                   }});
  cases.push_back({"SubmitSignal NaN quantity", [&] {
                     v1::SubmitSignalRequest r;
                     r.set_strategy_id("tv");
                     r.set_action("buy");
                     r.set_symbol("BTC-USDT");
                     r.set_quantity("NaN");
                     return Call(&v1::StrategyManager::Stub::SubmitSignal, manager.get(), r);
                   }});
  cases.push_back({"SubmitSignal huge action", [&] {
                     v1::SubmitSignalRequest r;
                     r.set_strategy_id("tv");
                     r.set_action(huge);
                     r.set_symbol("BTC-USDT");
                     r.set_quantity("1");
                     return Call(&v1::StrategyManager::Stub::SubmitSignal, manager.get(), r);
                   }});
  cases.push_back({"SubmitSignal empty", [&] {
                     return Call(&v1::StrategyManager::Stub::SubmitSignal, manager.get(),
                                 v1::SubmitSignalRequest());
                   }});

  // Not UTF-8: protobuf refuses to parse the request, before any handler
  // (sync, callback, unary or streaming); the server still answers clearly.
  const std::string not_utf8 = "BTC-\xff\xfe";
  order("symbol not UTF-8", [&](auto& r) { r.set_symbol(not_utf8); });
  cases.push_back({"GetPrice not UTF-8", [&] {
                     v1::GetPriceRequest r;
                     r.set_pair(not_utf8);
                     return Call(&v1::PriceFeed::Stub::GetPrice, prices.get(), r);
                   }});
  cases.push_back({"SubmitSignal not UTF-8", [&] {
                     v1::SubmitSignalRequest r;
                     r.set_strategy_id("tv");
                     r.set_action("\xc3\x28");
                     return Call(&v1::StrategyManager::Stub::SubmitSignal, manager.get(), r);
                   }});
  cases.push_back({"StreamPositions not UTF-8", [&] {
                     grpc::ClientContext ctx;
                     ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
                     v1::StreamPositionsRequest r;
                     r.set_strategy_id(not_utf8);
                     auto reader = control->StreamPositions(&ctx, r);
                     v1::StreamPositionsResponse msg;
                     while (reader->Read(&msg)) {
                     }
                     return reader->Finish();
                   }});

  for (const Case& c : cases) {
    grpc::Status st = c.call();
    EXPECT_FALSE(st.ok()) << c.name;
    EXPECT_THAT(st.error_code(), ::testing::AnyOf(grpc::StatusCode::INVALID_ARGUMENT,
                                                  grpc::StatusCode::NOT_FOUND,
                                                  grpc::StatusCode::FAILED_PRECONDITION))
        << c.name << ": " << st.error_code() << " " << st.error_message();
    EXPECT_FALSE(st.error_message().empty()) << c.name;
    EXPECT_LT(st.error_message().size(), 2000u) << c.name << ": the message echoes the input";
  }
  // Nothing was stored, and the server still works.
  grpc::ClientContext ctx;
  v1::ListOrdersResponse orders;
  ASSERT_TRUE(control->ListOrders(&ctx, {}, &orders).ok());
  EXPECT_EQ(orders.orders_size(), 0);
  EXPECT_TRUE(Call(&v1::ExchangeControl::Stub::PlaceOrder, control.get(), GoodOrder()).ok());
}

}  // namespace
}  // namespace xctl
