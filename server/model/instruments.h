// InstrumentCatalog: the contract specifications (contract value, lot size,
// minimum size, tick size, maximum leverage, maximum order sizes, whether it
// trades) of every tradable symbol, shared
// by exchange control, the paper exchange and the BloFin exchange. Filled at
// start from BloFin's instruments endpoint when BloFin is configured, from the
// config file's `instruments:` section, and otherwise from built-in defaults
// that copy BloFin's specifications for the common pairs. Thread-safe.
//
// Also the one place where an order's quantity and price are checked against
// an instrument, so paper and live refuse the same orders with the same
// messages.
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/model/types.h"

namespace xctl {

class InstrumentCatalog {
 public:
  InstrumentCatalog() = default;
  explicit InstrumentCatalog(const std::vector<Instrument>& instruments);

  // Adds or replaces the specification of `instrument.symbol`.
  void Put(const Instrument& instrument);

  // NOT_FOUND naming the symbol when it has no specification.
  [[nodiscard]] absl::StatusOr<Instrument> Get(absl::string_view symbol) const;
  bool Contains(absl::string_view symbol) const;

  // Every specification, by symbol.
  std::vector<Instrument> All() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Instrument> by_symbol_ ABSL_GUARDED_BY(mu_);
};

// BloFin's USDT perpetual specifications for BTC-USDT, ETH-USDT, SOL-USDT,
// XRP-USDT and DOGE-USDT (as the instruments endpoint listed them), used when
// nothing better is known. Maximum order sizes: BTC-USDT's are those of
// BloFin's documented example (maxMarketSize 1000000, maxLimitSize
// 100000000 contracts); the others are chosen for about the same notional
// (market orders up to some 60 million USDT, limit orders 100 times that).
std::vector<Instrument> DefaultInstruments();

// The specification used for a symbol no source knows: contract value 1,
// lot/min size 1, tick size 0.000000001 (any price), max leverage 100, no
// maximum order size.
Instrument GenericInstrument(absl::string_view symbol);

// INVALID_ARGUMENT unless quantity > 0, a multiple of the lot size and at
// least the minimum size; the message names the valid step, e.g.
// "quantity 0.15 is not a multiple of BTC-USDT's lot size 0.1 (try 0.1 or 0.2)".
[[nodiscard]] absl::Status CheckQuantity(const Instrument& instrument, Decimal quantity);

// INVALID_ARGUMENT unless price > 0 and a multiple of the tick size, with the
// nearest valid prices in the message.
[[nodiscard]] absl::Status CheckPrice(const Instrument& instrument, Decimal price);

// INVALID_ARGUMENT when `quantity` is above the instrument's maximum size for
// an order of `type` (max_market_size / max_limit_size, when set), naming the
// limit: "quantity 2000000 is above BTC-USDT's maximum market order size of
// 1000000 contracts (BloFin's maxMarketSize)".
[[nodiscard]] absl::Status CheckMaxSize(const Instrument& instrument, OrderType type,
                                        Decimal quantity);

// The notional price x quantity x contract value (USDT), computed with the
// checked multiply: INVALID_ARGUMENT naming the order's numbers when it is
// beyond Decimal's range. Paper checks market orders with it at their fill
// price.
[[nodiscard]] absl::StatusOr<Decimal> CheckedNotional(const Instrument& instrument, Decimal price,
                                                      Decimal quantity);

// INVALID_ARGUMENT unless the request's take-profit trigger is beyond
// `reference` on the profit side (above for a buy, below for a sell) and its
// stop-loss trigger on the loss side, naming `reference_name` ("order price",
// "latest price"). Exchanges check market orders with it at the price they
// know.
[[nodiscard]] absl::Status CheckTriggerSides(const OrderRequest& request, Decimal reference,
                                             absl::string_view reference_name);

// The checks every exchange makes before trading, in this order: the
// instrument is live (else FAILED_PRECONDITION "BTC-USDT is suspended on
// BloFin"), quantity (CheckQuantity, then CheckMaxSize for the order's type),
// no TP/SL on a reduce-only order (it opens nothing for them to close), TP/SL
// trigger and order prices on the tick (CheckPrice), a priced order's
// (limit, post_only, ioc, fok) price (present, CheckPrice), its TP/SL on the
// right sides of it (CheckTriggerSides) and its notional (CheckedNotional),
// no price on a market order.
[[nodiscard]] absl::Status CheckOrder(const Instrument& instrument, const OrderRequest& request);

// The checks an exchange makes on a request before anything else: it is for
// `strategy_id` (else INVALID_ARGUMENT naming `exchange`), its symbol has a
// specification in `catalog` (NOT_FOUND) and it passes CheckOrder. Returns
// the instrument.
[[nodiscard]] absl::StatusOr<Instrument> CheckOrderFor(const OrderRequest& request,
                                                       absl::string_view strategy_id,
                                                       absl::string_view exchange,
                                                       const InstrumentCatalog& catalog);

// A fresh client order id for an order whose caller gave none: "x" and 24
// random hex digits (alphanumeric and at most 32 characters, as BloFin's
// clientOrderId must be).
std::string NewClientOrderId();

}  // namespace xctl
