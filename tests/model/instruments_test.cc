// The instrument catalog and the quantity/price checks that paper and live
// share: the messages must name the valid step so a user can fix the order.
#include "server/model/instruments.h"

#include <optional>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

Instrument Btc() { return InstrumentCatalog(DefaultInstruments()).Get("BTC-USDT").value(); }

TEST(InstrumentCatalog, DefaultsCopyBlofinSpecifications) {
  InstrumentCatalog catalog(DefaultInstruments());
  Instrument btc = catalog.Get("BTC-USDT").value();
  EXPECT_EQ(btc.contract_value, D("0.001"));
  EXPECT_EQ(btc.lot_size, D("0.1"));
  EXPECT_EQ(btc.min_size, D("0.1"));
  EXPECT_EQ(btc.tick_size, D("0.1"));
  EXPECT_EQ(catalog.Get("ETH-USDT")->contract_value, D("0.01"));
  EXPECT_EQ(catalog.All().size(), 5u);
  EXPECT_EQ(catalog.All().front().symbol, "BTC-USDT");
}

TEST(InstrumentCatalog, UnknownSymbolIsNotFoundWithAHint) {
  InstrumentCatalog catalog(DefaultInstruments());
  auto missing = catalog.Get("PEPE-USDT");
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("PEPE-USDT"));
  EXPECT_THAT(missing.status().message(), HasSubstr("instruments"));
  EXPECT_FALSE(catalog.Contains("PEPE-USDT"));
}

TEST(InstrumentCatalog, PutReplacesAndIsSafeAcrossThreads) {
  InstrumentCatalog catalog;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&catalog, t] {
      for (int i = 0; i < 500; ++i) {
        Instrument spec = GenericInstrument(absl::StrCat("P", i % 10, "-USDT"));
        spec.max_leverage = Decimal::FromInt(t + 1);
        catalog.Put(spec);
        (void)catalog.Get(spec.symbol);
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(catalog.All().size(), 10u);
}

TEST(CheckQuantity, AcceptsMultiplesOfTheLotAtOrAboveTheMinimum) {
  EXPECT_TRUE(CheckQuantity(Btc(), D("0.1")).ok());
  EXPECT_TRUE(CheckQuantity(Btc(), D("12.3")).ok());
}

TEST(CheckQuantity, NamesTheValidStepForAnOffLotQuantity) {
  absl::Status s = CheckQuantity(Btc(), D("0.15"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "quantity 0.15 is not a multiple of BTC-USDT's lot size 0.1 (try 0.1 or 0.2)");
}

TEST(CheckQuantity, RefusesZeroNegativeAndBelowMinimum) {
  EXPECT_THAT(CheckQuantity(Btc(), D("0")).message(), HasSubstr("greater than 0"));
  EXPECT_THAT(CheckQuantity(Btc(), D("-1")).message(), HasSubstr("greater than 0"));
  Instrument sol = InstrumentCatalog(DefaultInstruments()).Get("SOL-USDT").value();
  sol.min_size = D("2");
  EXPECT_THAT(CheckQuantity(sol, D("1")).message(), HasSubstr("minimum size of 2"));
}

TEST(CheckPrice, NamesTheNearestValidPrices) {
  EXPECT_TRUE(CheckPrice(Btc(), D("64000.1")).ok());
  absl::Status s = CheckPrice(Btc(), D("64000.15"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("tick size 0.1 (try 64000.1 or 64000.2)"));
  EXPECT_THAT(CheckPrice(Btc(), D("0")).message(), HasSubstr("greater than 0"));
}

TEST(CheckPrice, BelowOneTickNamesOnlyTheTick) {
  EXPECT_THAT(CheckPrice(Btc(), D("0.05")).message(), HasSubstr("tick size 0.1 (try 0.1)"));
}

// With int64 units the lot-size hint of this quantity overflowed and printed
// "-9223372036.809551616".
TEST(CheckQuantity, HintIsRightForHugeQuantities) {
  EXPECT_EQ(CheckQuantity(Btc(), D("9223372036.85")).message(),
            "quantity 9223372036.85 is not a multiple of BTC-USDT's lot size 0.1 "
            "(try 9223372036.8 or 9223372036.9)");
  EXPECT_EQ(CheckQuantity(Btc(), D("123456789012345678901234.56")).message(),
            "quantity 123456789012345678901234.56 is not a multiple of BTC-USDT's lot size 0.1 "
            "(try 123456789012345678901234.5 or 123456789012345678901234.6)");
  // The multiple above the largest Decimal is beyond the range: only the one
  // below is named.
  EXPECT_EQ(CheckQuantity(Btc(), Decimal::Max()).message(),
            "quantity 99999999999999999999999999999.999999999 is not a multiple of BTC-USDT's "
            "lot size 0.1 (try 99999999999999999999999999999.9)");
  EXPECT_THAT(CheckPrice(Btc(), Decimal::Max()).message(),
              HasSubstr("tick size 0.1 (try 99999999999999999999999999999.9)"));
}

OrderRequest Request(OrderType type, absl::string_view qty,
                     std::optional<absl::string_view> price = std::nullopt) {
  OrderRequest r{.strategy_id = "s1", .symbol = "BTC-USDT", .side = Side::kBuy, .type = type,
                 .quantity = D(qty)};
  if (price) r.price = D(*price);
  return r;
}

TEST(CheckOrder, DefaultsCarryBlofinsMaximumOrderSizes) {
  Instrument btc = Btc();
  EXPECT_EQ(btc.max_market_size, D("1000000"));  // index.md, "GET Instruments"
  EXPECT_EQ(btc.max_limit_size, D("100000000"));
  EXPECT_TRUE(btc.live);
  for (const Instrument& i : DefaultInstruments()) {
    ASSERT_TRUE(i.max_market_size && i.max_limit_size) << i.symbol;
    EXPECT_EQ(*i.max_limit_size, Decimal::Mul(*i.max_market_size, D("100"))) << i.symbol;
  }
  EXPECT_FALSE(GenericInstrument("X-USDT").max_market_size);
  EXPECT_FALSE(GenericInstrument("X-USDT").max_limit_size);
}

TEST(CheckOrder, MarketAndLimitOrdersAreCappedAtTheirMaximumSize) {
  EXPECT_TRUE(CheckOrder(Btc(), Request(OrderType::kMarket, "1000000")).ok());
  absl::Status market = CheckOrder(Btc(), Request(OrderType::kMarket, "1000000.1"));
  EXPECT_EQ(market.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(market.message(),
            "quantity 1000000.1 is above BTC-USDT's maximum market order size of 1000000 "
            "contracts (BloFin's maxMarketSize)");
  // A limit order may be larger than a market order, up to maxLimitSize.
  EXPECT_TRUE(CheckOrder(Btc(), Request(OrderType::kLimit, "1000000.1", "64000")).ok());
  EXPECT_TRUE(CheckOrder(Btc(), Request(OrderType::kLimit, "100000000", "64000")).ok());
  absl::Status limit = CheckOrder(Btc(), Request(OrderType::kLimit, "100000000.1", "64000"));
  EXPECT_EQ(limit.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(limit.message(),
            "quantity 100000000.1 is above BTC-USDT's maximum limit order size of 100000000 "
            "contracts (BloFin's maxLimitSize)");
}

// The order that was FILLED when the notional saturated near 9.22e9.
TEST(CheckOrder, TheHostileOrderIsRefused) {
  absl::Status s = CheckOrder(Btc(), Request(OrderType::kMarket, "922337203"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("maximum market order size of 1000000"));
}

TEST(CheckOrder, ALimitOrderWhoseNotionalCannotBeCountedIsRefused) {
  Instrument unlimited = Btc();
  unlimited.max_market_size.reset();
  unlimited.max_limit_size.reset();
  unlimited.contract_value = D("1000");
  // 10^28 x 10^10 x 1000 = 10^41: beyond Decimal's range.
  absl::Status s = CheckOrder(
      unlimited, Request(OrderType::kLimit, "10000000000", "10000000000000000000000000000"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the order's notional (price 10000000000000000000000000000 "
                                     "x quantity 10000000000 x contract value 1000 of BTC-USDT) "
                                     "is beyond the largest amount xctl counts"));
  EXPECT_TRUE(CheckOrder(unlimited, Request(OrderType::kLimit, "10000000000", "64000")).ok());
  EXPECT_EQ(CheckedNotional(unlimited, D("64000"), D("10000000000")).value(),
            D("640000000000000000"));
}

TEST(CheckOrder, ASuspendedInstrumentRefusesOrders) {
  Instrument btc = Btc();
  btc.live = false;
  for (const OrderRequest& r :
       {Request(OrderType::kMarket, "1"), Request(OrderType::kLimit, "1", "64000")}) {
    absl::Status s = CheckOrder(btc, r);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("BTC-USDT is suspended on BloFin"));
  }
  InstrumentCatalog catalog({btc});
  EXPECT_EQ(CheckOrderFor(Request(OrderType::kMarket, "1"), "s1", "paper", catalog)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(NewClientOrderId, IsUniqueAlphanumericAndFitsBlofinsLimit) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewClientOrderId();
    EXPECT_LE(id.size(), 32u);
    for (char c : id) EXPECT_TRUE(absl::ascii_isalnum(c)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

}  // namespace
}  // namespace xctl
