// Checks of what a crash or a failover left in the store, shared by the
// end-to-end tests that kill xctld under load (crash_e2e_test.cc,
// cluster_shards_e2e_test.cc): every stored order read once, none twice, all
// filled; and open positions equal to the net of the stored fills.
#pragma once

#include <map>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "server/common/decimal.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl::testing {

// (strategy id, symbol) -> a signed quantity (long > 0, short < 0).
using NetByStrategySymbol = std::map<std::pair<std::string, std::string>, Decimal>;

struct StoredOrders {
  // "strategy id/client order id" -> the stored order.
  std::map<std::string, v1::Order> by_key;
  // Buys minus sells of the filled quantities.
  NetByStrategySymbol net;
};

// Reads every stored order, page by page. Fails the test (fatally: check
// HasFatalFailure()) when a client order id is stored twice or an order is
// not filled.
inline void ReadStoredOrders(v1::ExchangeControl::Stub& stub, StoredOrders* out) {
  std::string token;
  do {
    grpc::ClientContext ctx;
    v1::ListOrdersRequest req;
    req.set_page_size(1000);
    req.set_page_token(token);
    v1::ListOrdersResponse resp;
    grpc::Status st = stub.ListOrders(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const v1::Order& o : resp.orders()) {
      const std::string key = o.strategy_id() + "/" + o.client_order_id();
      ASSERT_TRUE(out->by_key.emplace(key, o).second) << "order stored twice: " << key;
      ASSERT_EQ(o.status(), v1::ORDER_STATUS_FILLED) << key;
      const Decimal filled = Decimal::Parse(o.filled_quantity().value()).value();
      out->net[{o.strategy_id(), o.symbol()}] += o.side() == v1::SIDE_BUY ? filled : -filled;
    }
    token = resp.next_page_token();
  } while (!token.empty());
}

// Adds an open position row to `open` (signed by its side).
inline void AddOpenRow(const v1::Position& p, NetByStrategySymbol* open) {
  const Decimal q = Decimal::Parse(p.quantity().value()).value();
  (*open)[{p.strategy_id(), p.symbol()}] += p.side() == v1::POSITION_SIDE_LONG ? q : -q;
}

// Open positions equal the net of the fills: no open row where the net is
// zero, the same signed quantity elsewhere, and no open row without fills.
inline void ExpectOpenEqualsNet(const NetByStrategySymbol& open, const NetByStrategySymbol& net) {
  for (const auto& [key, quantity] : net) {
    auto it = open.find(key);
    if (quantity.is_zero()) {
      EXPECT_TRUE(it == open.end()) << key.first << " " << key.second;
    } else {
      EXPECT_TRUE(it != open.end() && it->second == quantity)
          << key.first << " " << key.second << ": open "
          << (it == open.end() ? "none" : it->second.ToString()) << ", fills "
          << quantity.ToString();
    }
  }
  for (const auto& [key, quantity] : open) {
    EXPECT_TRUE(net.contains(key)) << key.first << " " << key.second << " open without fills";
  }
}

}  // namespace xctl::testing
