// The instrument catalog and the quantity/price checks that paper and live
// share: the messages must name the valid step so a user can fix the order.
#include "server/exchange/instruments.h"

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
