// The fixture of the control tests (order_router_test.cc, portfolio_test.cc):
// real exchanges through the default factory, PaperExchange on a SQLite file
// and BlofinExchange on the local BloFin-compatible server; prices from a
// fixed table fed as ticks to an OrderRouter and its Portfolio.
#pragma once

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {

using ::xctl::testing::FakeBlofin;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::TestDatabase;

inline Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class ControlTest : public ::testing::Test {
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
    NewControl();
  }

  // Every test ends with a portfolio whose running sums and indexes agree
  // with its rows and the store.
  void TearDown() override {
    if (portfolio_) {
      EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
    }
  }

  // A fresh Portfolio and OrderRouter on the same store (as after a restart).
  void NewControl() {
    ResetControl();
    portfolio_ = std::make_unique<Portfolio>(
        Portfolio::Deps{store_.get(), &prices_, &instruments_, &SystemClock()});
    router_ = std::make_unique<OrderRouter>(
        OrderRouter::Deps{store_.get(), factory_.get(), portfolio_.get()});
  }
  void ResetControl() {
    router_.reset();  // before the portfolio it hands results to
    portfolio_.reset();
  }

  // Sets the market on both venues and hands the tick to control.
  void Tick(absl::string_view bid, absl::string_view ask, absl::string_view last) {
    TickPtr t = prices_.Set("BTC-USDT", bid, ask, last);
    EXPECT_TRUE(fake_.SetTickers(absl::StrCat(R"({"BTC-USDT":{"bid":")", bid, R"(","ask":")",
                                              ask, R"(","last":")", last, R"("}})")));
    if (router_) {
      router_->OnTicks({t});
      router_->ProcessPendingTicks();
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
  std::unique_ptr<Portfolio> portfolio_;
  std::unique_ptr<OrderRouter> router_;
};

}  // namespace xctl
