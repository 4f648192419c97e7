#include "server/model/instruments.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_reason.h"
#include "server/common/status_macros.h"

namespace xctl {
namespace {

Decimal D(absl::string_view text) { return *Decimal::Parse(text); }

Instrument Spec(absl::string_view symbol, absl::string_view cv, absl::string_view lot,
                absl::string_view min, absl::string_view tick, int max_leverage,
                absl::string_view max_market, absl::string_view max_limit) {
  return Instrument{.symbol = std::string(symbol),
                    .contract_value = D(cv),
                    .lot_size = D(lot),
                    .min_size = D(min),
                    .tick_size = D(tick),
                    .max_leverage = Decimal::FromInt(max_leverage),
                    .max_market_size = D(max_market),
                    .max_limit_size = D(max_limit)};
}

// The multiples of `step` around `value` (value > 0 and not a multiple, step
// > 0): the one below, and the one above unless it is beyond Decimal's range
// (then the hint names the one below only).
std::pair<Decimal, std::optional<Decimal>> Neighbours(Decimal value, Decimal step) {
  const Decimal below = Decimal::FromUnits(value.units() / step.units() * step.units());
  absl::StatusOr<Decimal> above = Decimal::CheckedAdd(below, step);
  if (!above.ok()) return {below, std::nullopt};
  return {below, *above};
}

// " (try a or b)", " (try a)", or "" for the candidates that are positive.
std::string Try(Decimal a, std::optional<Decimal> b) {
  std::vector<std::string> valid;
  if (a.is_positive()) valid.push_back(a.ToString());
  if (b && b->is_positive() && *b != a) valid.push_back(b->ToString());
  if (valid.empty()) return "";
  return absl::StrCat(" (try ", absl::StrJoin(valid, " or "), ")");
}

}  // namespace

InstrumentCatalog::InstrumentCatalog(const std::vector<Instrument>& instruments) {
  for (const Instrument& i : instruments) Put(i);
}

void InstrumentCatalog::Put(const Instrument& instrument) {
  absl::MutexLock lock(&mu_);
  by_symbol_[instrument.symbol] = instrument;
}

absl::StatusOr<Instrument> InstrumentCatalog::Get(absl::string_view symbol) const {
  absl::MutexLock lock(&mu_);
  auto it = by_symbol_.find(symbol);
  if (it == by_symbol_.end()) {
    return WithReason(
        absl::NotFoundError(
            absl::StrCat("no contract specification for ", symbol,
                         ": add it to the config's instruments section or trade a BloFin pair")),
        reason::kInstrumentNotFound);
  }
  return it->second;
}

bool InstrumentCatalog::Contains(absl::string_view symbol) const {
  absl::MutexLock lock(&mu_);
  return by_symbol_.contains(symbol);
}

std::vector<Instrument> InstrumentCatalog::All() const {
  std::vector<Instrument> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [symbol, instrument] : by_symbol_) out.push_back(instrument);
  }
  std::sort(out.begin(), out.end(),
            [](const Instrument& a, const Instrument& b) { return a.symbol < b.symbol; });
  return out;
}

std::vector<Instrument> DefaultInstruments() {
  // Contract value, lot, minimum, tick, maximum leverage, maximum market and
  // limit order size (contracts). A market order of the maximum size is about
  // 60 million USDT at 2024 prices (BTC-USDT: BloFin's documented figures).
  return {
      Spec("BTC-USDT", "0.001", "0.1", "0.1", "0.1", 150, "1000000", "100000000"),
      Spec("ETH-USDT", "0.01", "0.1", "0.1", "0.01", 150, "2000000", "200000000"),
      Spec("SOL-USDT", "1", "1", "1", "0.001", 75, "400000", "40000000"),
      Spec("XRP-USDT", "10", "1", "1", "0.0001", 75, "10000000", "1000000000"),
      Spec("DOGE-USDT", "100", "1", "1", "0.00001", 75, "4000000", "400000000"),
  };
}

Instrument GenericInstrument(absl::string_view symbol) {
  return Instrument{.symbol = std::string(symbol),
                    .contract_value = Decimal::FromInt(1),
                    .lot_size = Decimal::FromInt(1),
                    .min_size = Decimal::FromInt(1),
                    .tick_size = Decimal::FromUnits(1),
                    .max_leverage = Decimal::FromInt(100)};
}

namespace {

// INVALID_ARGUMENT with the reason a client branches on (docs/api.md).
absl::Status SizeError(absl::string_view message) {
  return WithReason(absl::InvalidArgumentError(message), reason::kOrderSize);
}
absl::Status PriceError(absl::string_view message) {
  return WithReason(absl::InvalidArgumentError(message), reason::kOrderPrice);
}
absl::Status RangeError(absl::string_view message) {
  return WithReason(absl::InvalidArgumentError(message), reason::kNumberOutOfRange);
}

}  // namespace

absl::Status CheckQuantity(const Instrument& instrument, Decimal quantity) {
  if (!quantity.is_positive()) {
    return SizeError(absl::StrCat(
        "quantity must be greater than 0 (contracts of ", instrument.symbol, "), got ",
        quantity.ToString()));
  }
  if (quantity < instrument.min_size) {
    return SizeError(absl::StrCat(
        "quantity ", quantity.ToString(), " is below ", instrument.symbol,
        "'s minimum size of ", instrument.min_size.ToString(), " contracts"));
  }
  if (!quantity.IsMultipleOf(instrument.lot_size)) {
    auto [lo, hi] = Neighbours(quantity, instrument.lot_size);
    return SizeError(absl::StrCat(
        "quantity ", quantity.ToString(), " is not a multiple of ", instrument.symbol,
        "'s lot size ", instrument.lot_size.ToString(),
        Try(std::max(lo, instrument.min_size), hi)));
  }
  return absl::OkStatus();
}

absl::Status CheckMaxSize(const Instrument& instrument, OrderType type, Decimal quantity) {
  const bool market = type == OrderType::kMarket;
  const std::optional<Decimal>& max =
      market ? instrument.max_market_size : instrument.max_limit_size;
  if (max && quantity > *max) {
    return SizeError(absl::StrCat(
        "quantity ", quantity.ToString(), " is above ", instrument.symbol, "'s maximum ",
        market ? "market" : "limit", " order size of ", max->ToString(), " contracts (BloFin's ",
        market ? "maxMarketSize" : "maxLimitSize", ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Decimal> CheckedNotional(const Instrument& instrument, Decimal price,
                                        Decimal quantity) {
  absl::StatusOr<Decimal> notional =
      Decimal::CheckedMul(price, quantity, instrument.contract_value);
  if (!notional.ok()) {
    return RangeError(absl::StrCat(
        "the order's notional (price ", price.ToString(), " x quantity ", quantity.ToString(),
        " x contract value ", instrument.contract_value.ToString(), " of ", instrument.symbol,
        ") is beyond the largest amount xctl counts (", Decimal::Max().ToString(), ")"));
  }
  return notional;
}

absl::Status CheckPrice(const Instrument& instrument, Decimal price) {
  if (!price.is_positive()) {
    return PriceError(
        absl::StrCat("price must be greater than 0, got ", price.ToString()));
  }
  if (!price.IsMultipleOf(instrument.tick_size)) {
    auto [lo, hi] = Neighbours(price, instrument.tick_size);
    return PriceError(absl::StrCat(
        "price ", price.ToString(), " is not a multiple of ", instrument.symbol,
        "'s tick size ", instrument.tick_size.ToString(), Try(lo, hi)));
  }
  return absl::OkStatus();
}

namespace {

// `what` ("take-profit trigger price") prefixed to CheckPrice's message.
absl::Status CheckPriceOf(const Instrument& instrument, Decimal price, absl::string_view what) {
  absl::Status st = CheckPrice(instrument, price);
  if (st.ok()) return st;
  return PriceError(absl::StrCat(what, ": ", st.message()));
}

absl::Status CheckTriggerPrices(const Instrument& instrument, const OrderRequest& request) {
  for (const auto& [name, leg] : {std::pair{"take-profit", &request.take_profit},
                                  std::pair{"stop-loss", &request.stop_loss}}) {
    if (!*leg) continue;
    XCTL_RETURN_IF_ERROR(
        CheckPriceOf(instrument, (*leg)->trigger_price, absl::StrCat(name, " trigger price")));
    if ((*leg)->order_price) {
      XCTL_RETURN_IF_ERROR(
          CheckPriceOf(instrument, *(*leg)->order_price, absl::StrCat(name, " order price")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTriggerSides(const OrderRequest& request, Decimal reference,
                               absl::string_view reference_name) {
  // A buy opens (or adds to) a long: profit above, loss below; a sell the
  // reverse (errors.md 102037-102040, 102047-102055).
  const bool buy = request.side == Side::kBuy;
  if (request.take_profit) {
    const Decimal tp = request.take_profit->trigger_price;
    if (buy ? tp <= reference : tp >= reference) {
      return PriceError(absl::StrCat(
          "take-profit trigger price ", tp.ToString(), " of a ", ToString(request.side),
          " must be ", buy ? "above" : "below", " the ", reference_name, " ",
          reference.ToString()));
    }
  }
  if (request.stop_loss) {
    const Decimal sl = request.stop_loss->trigger_price;
    if (buy ? sl >= reference : sl <= reference) {
      return PriceError(absl::StrCat(
          "stop-loss trigger price ", sl.ToString(), " of a ", ToString(request.side),
          " must be ", buy ? "below" : "above", " the ", reference_name, " ",
          reference.ToString()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOrder(const Instrument& instrument, const OrderRequest& request) {
  if (!instrument.live) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          instrument.symbol,
                          " is suspended on BloFin: orders are refused until it trades again")),
                      reason::kInstrumentSuspended);
  }
  absl::Status quantity = CheckQuantity(instrument, request.quantity);
  if (!quantity.ok()) return quantity;
  absl::Status size = CheckMaxSize(instrument, request.type, request.quantity);
  if (!size.ok()) return size;
  if ((request.take_profit || request.stop_loss) && request.reduce_only) {
    return absl::InvalidArgumentError(
        "take-profit / stop-loss cannot be attached to a reduce-only order: they close the "
        "position an order opens, and a reduce-only order opens none");
  }
  XCTL_RETURN_IF_ERROR(CheckTriggerPrices(instrument, request));
  if (IsPriced(request.type)) {
    if (!request.price) {
      return PriceError(absl::StrCat("a ", ToString(request.type), " order needs a price"));
    }
    absl::Status price = CheckPrice(instrument, *request.price);
    if (!price.ok()) return price;
    XCTL_RETURN_IF_ERROR(CheckTriggerSides(request, *request.price, "order price"));
    return CheckedNotional(instrument, *request.price, request.quantity).status();
  }
  if (request.price) {
    return PriceError(
        "a market order takes no price (it fills at the bid or ask); use a limit order to set one");
  }
  return absl::OkStatus();
}

absl::StatusOr<Instrument> CheckOrderFor(const OrderRequest& request,
                                         absl::string_view strategy_id,
                                         absl::string_view exchange,
                                         const InstrumentCatalog& catalog) {
  if (request.strategy_id != strategy_id) {
    return absl::InvalidArgumentError(absl::StrCat("order for strategy \"", request.strategy_id,
                                                   "\" sent to the ", exchange,
                                                   " exchange of ", strategy_id));
  }
  absl::StatusOr<Instrument> instrument = catalog.Get(request.symbol);
  if (!instrument.ok()) return instrument.status();
  absl::Status checked = CheckOrder(*instrument, request);
  if (!checked.ok()) return checked;
  return instrument;
}

std::string NewClientOrderId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  uint64_t hi, lo;
  {
    absl::MutexLock lock(&mu);
    hi = absl::Uniform<uint64_t>(*gen);
    lo = absl::Uniform<uint32_t>(*gen);
  }
  return absl::StrCat("x", absl::Hex(hi, absl::kZeroPad16), absl::Hex(lo, absl::kZeroPad8));
}

}  // namespace xctl
