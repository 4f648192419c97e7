// TriggerBook: the paper exchange's take-profit / stop-loss triggers, one
// entry per open position that carries a TP or an SL (Position::take_profit,
// stop_loss; set by RecordFill when an order with TP/SL fills). The store is
// the truth (the positions table's tp_/sl_ columns, so triggers survive a
// restart); the book is its mirror for evaluating ticks without a read.
//
// Semantics (the same as BloFin's attached TP/SL, index.md "Place Order", and
// the test fake): a trigger fires when the last price reaches it (long: TP at
// last >= trigger, SL at last <= trigger; short the reverse). The position
// is then closed by a reduce-only order for its whole quantity, market when
// the leg has no order price, else limit at it; the other leg is dropped. A
// position closed any other way drops its triggers with it.
//
// Not thread-safe: the paper exchange guards it with its mutex.
#pragma once

#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "server/exchange/exchange.h"
#include "server/model/types.h"
#include "server/price/tick.h"

namespace xctl::paper {

enum class TriggerLeg { kTakeProfit, kStopLoss };

// "take-profit" / "stop-loss".
absl::string_view ToString(TriggerLeg leg);

// The leg of `position`'s TP/SL that a last price of `last` reaches, if any.
std::optional<TriggerLeg> ReachedLeg(const Position& position, Decimal last);

// The reduce-only close of `position` that `leg` places. Its client order id
// is "tp<position id>" / "sl<position id>", so a close placed before a crash
// is found again (replayed), not placed twice.
OrderRequest TriggeredClose(const Position& position, TriggerLeg leg);

struct DueTrigger {
  Position position;
  TriggerLeg leg;
};

class TriggerBook {
 public:
  // Replaces the book with the open positions that carry a TP or SL.
  void Load(const std::vector<Position>& open);
  // Follows what a trading call did: closed rows leave the book, open rows
  // enter it while they carry a TP or SL (and leave it otherwise).
  void Apply(const OrderResult& result);
  // Removes the position's entry.
  void Drop(int64_t position_id);
  // The positions of `tick.pair` whose TP or SL the tick's last price
  // reaches (stale ticks reach nothing).
  std::vector<DueTrigger> Due(const Tick& tick) const;
  bool empty() const { return by_id_.empty(); }

 private:
  void Put(const Position& p);
  absl::flat_hash_map<int64_t, Position> by_id_;
};

}  // namespace xctl::paper
