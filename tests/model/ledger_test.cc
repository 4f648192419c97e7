// The account ledger with hand-computed numbers (BTC-USDT: contract value
// 0.001 BTC, taker 0.06%). Expected values were worked out with exact
// decimal arithmetic, rounding half-even to 9 places.
#include "server/model/ledger.h"

#include <random>
#include <string>

#include "tests/support/exact_units.h"
#include "gtest/gtest.h"

namespace xctl::ledger {
namespace {

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }
const Decimal kTaker = D("0.0006");

Instrument Btc() {
  Instrument i;
  i.symbol = "BTC-USDT";
  i.contract_value = D("0.001");
  i.lot_size = D("0.1");
  i.min_size = D("0.1");
  i.tick_size = D("0.1");
  return i;
}

Position Base() {
  Position p;
  p.id = 42;
  p.strategy_id = "s1";
  p.symbol = "BTC-USDT";
  p.mode = TradingMode::kPaper;
  p.exchange = "paper";
  return p;
}

LedgerFill Fill(Side side, absl::string_view price, absl::string_view qty, int64_t t) {
  LedgerFill f{.side = side, .price = D(price), .quantity = D(qty), .time_ms = t};
  f.fee = Fee(f.price, f.quantity, Btc(), kTaker);
  return f;
}

// Runs the whole life of a position: open, add, partial close, flip, close.
TEST(PaperLedger, OpenAddPartialCloseFlipClose) {
  // 1. Buy 10 at 64000.5: notional 640.005, fee 0.384003.
  LedgerFill f1 = Fill(Side::kBuy, "64000.5", "10", 1000);
  EXPECT_EQ(f1.fee, D("0.384003"));
  LedgerResult r1 = ApplyFill(std::nullopt, Btc(), f1, Base());
  ASSERT_TRUE(r1.open.has_value());
  EXPECT_EQ(r1.open->id, 0);  // a new row
  EXPECT_EQ(r1.open->side, PositionSide::kLong);
  EXPECT_EQ(r1.open->open_price, D("64000.5"));
  EXPECT_EQ(r1.open->quantity, D("10"));
  EXPECT_EQ(r1.open->fees, D("0.384003"));
  EXPECT_EQ(r1.open->open_time_ms, 1000);
  EXPECT_TRUE(r1.closed.empty());
  EXPECT_EQ(r1.balance_delta, D("-0.384003"));
  Position open = *r1.open;
  open.id = 7;

  // 2. Buy 10 more at 64100: average 64050.25, fees 0.768603.
  LedgerResult r2 = ApplyFill(open, Btc(), Fill(Side::kBuy, "64100", "10", 2000), Base());
  EXPECT_EQ(r2.open->id, 7);
  EXPECT_EQ(r2.open->open_price, D("64050.25"));
  EXPECT_EQ(r2.open->quantity, D("20"));
  EXPECT_EQ(r2.open->fees, D("0.768603"));
  EXPECT_EQ(r2.open->open_time_ms, 1000);  // the position's start is kept
  EXPECT_EQ(r2.balance_delta, D("-0.3846"));
  open = *r2.open;

  // 3. Sell 5 at 64200: the row splits. Closing fee 0.1926, opening share
  //    0.768603 x 5/20 = 0.19215075; pnl = 149.75 x 5 x 0.001 - both = 0.36399925.
  LedgerResult r3 = ApplyFill(open, Btc(), Fill(Side::kSell, "64200", "5", 3000), Base());
  ASSERT_EQ(r3.closed.size(), 1u);
  const Position& part = r3.closed[0];
  EXPECT_EQ(part.id, 0);  // the closed part is a new row
  EXPECT_EQ(part.status, PositionStatus::kClosed);
  EXPECT_EQ(part.quantity, D("5"));
  EXPECT_EQ(part.open_price, D("64050.25"));
  EXPECT_EQ(part.open_time_ms, 1000);
  EXPECT_EQ(part.close_price, D("64200"));
  EXPECT_EQ(part.close_time_ms, 3000);
  EXPECT_EQ(part.fees, D("0.38475075"));
  EXPECT_EQ(part.pnl, D("0.36399925"));
  ASSERT_TRUE(r3.open.has_value());
  EXPECT_EQ(r3.open->id, 7);  // the rest stays open in the same row
  EXPECT_EQ(r3.open->quantity, D("15"));
  EXPECT_EQ(r3.open->fees, D("0.57645225"));
  EXPECT_EQ(r3.realized_pnl, D("0.36399925"));
  EXPECT_EQ(r3.balance_delta, D("0.74875") - D("0.1926"));
  open = *r3.open;

  // 4. Sell 25 at 64000: closes 15 (the row itself) and opens 10 short.
  //    Fill fee 0.96; closing share 0.96 x 15/25 = 0.576; the short carries 0.384.
  //    pnl = -50.25 x 15 x 0.001 - 0.57645225 - 0.576 = -1.90620225.
  LedgerResult r4 = ApplyFill(open, Btc(), Fill(Side::kSell, "64000", "25", 4000), Base());
  ASSERT_EQ(r4.closed.size(), 1u);
  EXPECT_EQ(r4.closed[0].id, 7);  // fully closed in place
  EXPECT_EQ(r4.closed[0].quantity, D("15"));
  EXPECT_EQ(r4.closed[0].pnl, D("-1.90620225"));
  ASSERT_TRUE(r4.open.has_value());
  EXPECT_EQ(r4.open->id, 0);
  EXPECT_EQ(r4.open->side, PositionSide::kShort);
  EXPECT_EQ(r4.open->quantity, D("10"));
  EXPECT_EQ(r4.open->open_price, D("64000"));
  EXPECT_EQ(r4.open->fees, D("0.384"));
  EXPECT_EQ(r4.open->open_time_ms, 4000);
  EXPECT_EQ(r4.balance_delta, D("-0.75375") - D("0.96"));
  open = *r4.open;
  open.id = 8;

  // 5. Buy 10 at 63900 closes the short: fee 0.3834; pnl = 100 x 10 x 0.001
  //    - 0.384 - 0.3834 = 0.2326.
  LedgerResult r5 = ApplyFill(open, Btc(), Fill(Side::kBuy, "63900", "10", 5000), Base());
  EXPECT_FALSE(r5.open.has_value());
  ASSERT_EQ(r5.closed.size(), 1u);
  EXPECT_EQ(r5.closed[0].id, 8);
  EXPECT_EQ(r5.closed[0].pnl, D("0.2326"));
  EXPECT_EQ(r5.balance_delta, D("1") - D("0.3834"));

  // Cash and pnl agree: every fee is paid once, every pnl counted once.
  Decimal cash = r1.balance_delta + r2.balance_delta + r3.balance_delta + r4.balance_delta +
                 r5.balance_delta;
  Decimal realized = r3.realized_pnl + r4.realized_pnl + r5.realized_pnl;
  EXPECT_EQ(cash, realized);
}

TEST(PaperLedger, FeeSharesNeverCreateOrLoseAFraction) {
  // Thirds do not divide evenly at 9 places; the shares must still add up.
  Position open = Base();
  open.side = PositionSide::kLong;
  open.open_price = D("100");
  open.quantity = D("3");
  open.fees = D("0.000000001");
  LedgerFill f{.side = Side::kSell, .price = D("100"), .quantity = D("1"),
               .fee = D("0.000000001"), .time_ms = 1};
  LedgerResult r = ApplyFill(open, Btc(), f, Base());
  ASSERT_TRUE(r.open.has_value());
  EXPECT_EQ(r.closed[0].fees + r.open->fees, open.fees + f.fee);
}

TEST(PaperLedger, MarginAndUnrealizedPnl) {
  Position p = Base();
  p.side = PositionSide::kShort;
  p.open_price = D("64000");
  p.quantity = D("10");
  EXPECT_EQ(InitialMargin(p, Btc(), D("10")), D("64"));  // 640 / 10
  EXPECT_EQ(UnrealizedPnl(p, Btc(), D("63000")), D("10"));  // short gains
  EXPECT_EQ(UnrealizedPnl(p, Btc(), D("64500")), D("-5"));
  EXPECT_EQ(IncreasingQuantity(p, Side::kSell, D("3")), D("3"));
  EXPECT_EQ(IncreasingQuantity(p, Side::kBuy, D("3")), D("0"));
  EXPECT_EQ(IncreasingQuantity(p, Side::kBuy, D("12.5")), D("2.5"));
  EXPECT_EQ(IncreasingQuantity(std::nullopt, Side::kBuy, D("1")), D("1"));
}

// ---- property test: the ledger's arithmetic against exact integers ----------
//
// Random prices, sizes, contract values, fee rates and leverage (seeded; most
// realistic, some absurd) through notional, margin, fee, unrealized and
// realized pnl and the average price. The reference is exact integer
// arithmetic (boost cpp_int) on the units, rounded half to even once: every
// checked result equals it, or the reference is beyond Decimal's range and
// the checked function refused.

using ::xctl::testing::Big;
using ::xctl::testing::InRange;
using ::xctl::testing::Pow10;
using ::xctl::testing::RoundHalfEven;
using ::xctl::testing::ToBig;
using Units = Decimal::Units;

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint64_t Below(uint64_t n) { return rng_() % n; }
  // A positive value of `min_digits`..`max_digits` digits of units.
  Decimal Digits(int min_digits, int max_digits) {
    const int digits = min_digits + static_cast<int>(Below(max_digits - min_digits + 1));
    Units u = 0;
    for (int i = 0; i < digits; ++i) u = u * 10 + static_cast<Units>(Below(10));
    return Decimal::FromUnits(u == 0 ? 1 : u);
  }
  // Mostly realistic (up to `digits` digits of units), one time in ten
  // anything up to Decimal's largest value.
  Decimal Value(int digits) { return Below(10) == 0 ? Digits(1, 38) : Digits(1, digits); }

 private:
  std::mt19937_64 rng_;
};

void ExpectExact(const absl::StatusOr<Decimal>& got, const Big& num, const Big& den,
                 const std::string& what, int* refused) {
  const Big ref = RoundHalfEven(num, den);
  if (!InRange(ref)) {
    EXPECT_FALSE(got.ok()) << what << " = " << *got << ", reference out of range";
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << what;
      ++*refused;
    }
    return;
  }
  ASSERT_TRUE(got.ok()) << what << ": " << got.status();
  EXPECT_EQ(ToBig(got->units()), ref) << what << " = " << *got;
}

TEST(PaperLedgerProperty, NotionalMarginFeeAndPnlMatchExactArithmetic) {
  Random rnd(0x5eed);
  const Big one = Pow10(9);
  int refused = 0, cases = 0;
  const char* kContractValues[] = {"0.001", "0.01", "1", "10", "100"};
  for (int i = 0; i < 4000; ++i, ++cases) {
    Instrument inst = Btc();
    inst.contract_value = rnd.Below(4) == 0 ? rnd.Digits(1, 13)
                                            : D(kContractValues[rnd.Below(5)]);
    const Decimal price = rnd.Value(17);     // up to 10^8 USDT
    const Decimal mark = rnd.Value(17);
    const Decimal quantity = rnd.Value(18);  // up to 10^9 contracts
    const Decimal rate = rnd.Digits(1, 7);    // up to 0.01
    const Decimal leverage =
        rnd.Below(2) == 0 ? Decimal::FromInt(1 + static_cast<int64_t>(rnd.Below(150)))
                          : rnd.Digits(8, 12);  // 0.01 .. 1000, any places
    const Big P = ToBig(price.units()), M = ToBig(mark.units()), Q = ToBig(quantity.units()),
              CV = ToBig(inst.contract_value.units()), R = ToBig(rate.units()),
              L = ToBig(leverage.units());
    const std::string what = "price " + price.ToString() + " qty " + quantity.ToString() +
                             " cv " + inst.contract_value.ToString() + " rate " +
                             rate.ToString() + " leverage " + leverage.ToString() + " mark " +
                             mark.ToString();

    absl::StatusOr<Decimal> notional = CheckedNotional(inst, price, quantity);
    ExpectExact(notional, P * Q * CV, one * one, "notional " + what, &refused);
    if (notional.ok()) EXPECT_EQ(Notional(price, quantity, inst), *notional) << what;

    absl::StatusOr<Decimal> margin = CheckedMargin(price, quantity, inst, leverage);
    ExpectExact(margin, P * Q * CV, L * one, "margin " + what, &refused);
    if (margin.ok()) EXPECT_EQ(Margin(price, quantity, inst, leverage), *margin) << what;

    absl::StatusOr<Decimal> fee = CheckedFee(price, quantity, inst, rate);
    ExpectExact(fee, P * Q * CV * R, one * one * one, "fee " + what, &refused);
    if (fee.ok()) EXPECT_EQ(Fee(price, quantity, inst, rate), *fee) << what;

    Position open = Base();
    open.side = rnd.Below(2) == 0 ? PositionSide::kLong : PositionSide::kShort;
    open.open_price = price;
    open.quantity = quantity;
    open.fees = fee.ok() ? *fee : Decimal();
    const int dir = Direction(open.side);
    absl::StatusOr<Decimal> upnl = CheckedUnrealizedPnl(open, inst, mark);
    ExpectExact(upnl, (M - P) * Q * CV * dir, one * one, "unrealized pnl " + what,
                      &refused);
    if (upnl.ok()) EXPECT_EQ(UnrealizedPnl(open, inst, mark), *upnl) << what;
    if (!notional.ok() || !fee.ok() || !upnl.ok()) continue;

    // Closing the whole row at the mark: pnl = gross - opening fees - the
    // closing fee, gross rounded once.
    absl::StatusOr<Decimal> close_fee = CheckedFee(mark, quantity, inst, rate);
    if (!close_fee.ok()) continue;
    LedgerFill fill{.side = open.side == PositionSide::kLong ? Side::kSell : Side::kBuy,
                    .price = mark, .quantity = quantity, .fee = *close_fee, .time_ms = 2};
    LedgerResult closed = ApplyFill(open, inst, fill, Base());
    ASSERT_EQ(closed.closed.size(), 1u) << what;
    EXPECT_FALSE(closed.open.has_value()) << what;
    const Big gross = RoundHalfEven((M - P) * Q * CV * dir, one * one);
    EXPECT_EQ(ToBig(closed.closed[0].pnl->units()),
              gross - ToBig(open.fees.units()) - ToBig(close_fee->units()))
        << "realized pnl " << what;
    EXPECT_EQ(ToBig(closed.balance_delta.units()), gross - ToBig(close_fee->units())) << what;

    // Adding at the mark: the average (p q + m q2) / (q + q2), rounded once.
    const Decimal more = rnd.Value(18);
    LedgerFill add{.side = open.side == PositionSide::kLong ? Side::kBuy : Side::kSell,
                   .price = mark, .quantity = more, .fee = Decimal(), .time_ms = 3};
    LedgerResult added = ApplyFill(open, inst, add, Base());
    ASSERT_TRUE(added.open.has_value()) << what;
    const Big Q2 = ToBig(more.units());
    EXPECT_EQ(ToBig(added.open->open_price.units()), RoundHalfEven(P * Q + M * Q2, Q + Q2))
        << "average price " << what << " + " << more;
  }
  // Both kinds of cases were drawn.
  EXPECT_GT(refused, 50);
  EXPECT_LT(refused, cases);
}

}  // namespace
}  // namespace xctl::ledger
