// PaperExchange: take-profit / stop-loss (paper/triggers.h). The book mirrors
// the open positions that carry a TP or SL; OnTick fires the legs a tick
// reaches. paper_exchange.cc has the trading calls and only calls these.
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/paper/paper_exchange.h"

namespace xctl {

void PaperExchange::LoadTriggers(const std::vector<Position>& open) {
  triggers_.Load(open);
  has_triggers_ = !triggers_.empty();
}

void PaperExchange::ApplyTriggers(const OrderResult& result) {
  triggers_.Apply(result);
  has_triggers_ = !triggers_.empty();
}

absl::StatusOr<std::optional<OrderResult>> PaperExchange::FireTrigger(
    const paper::DueTrigger& due) {
  // The store is the truth: the position may have changed under the book.
  std::optional<Position> open;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(open, tx.positions().GetOpen(config_.strategy_id, due.position.symbol));
    return absl::OkStatus();
  }));
  if (!open || open->id != due.position.id || (!open->take_profit && !open->stop_loss)) {
    triggers_.Drop(due.position.id);
    if (open) triggers_.Apply(OrderResult{.open_positions = {*open}});
    has_triggers_ = !triggers_.empty();
    return std::nullopt;
  }
  OrderRequest close = paper::TriggeredClose(*open, due.leg);
  // The quantity in the id: a retry after a crash finds the same close.
  absl::StrAppend(&close.client_order_id, "q",
                  absl::StrReplaceAll(close.quantity.ToString(), {{".", "d"}}));
  spdlog::info("event=paper_trigger_fired strategy={} position={} leg={} symbol={} close={}",
               config_.strategy_id, open->id, paper::ToString(due.leg), open->symbol,
               LogQuote(close.client_order_id));
  XCTL_ASSIGN_OR_RETURN(OrderResult placed, PlaceLocked(close));
  // A limit close that rests leaves the position open: its TP/SL are done
  // (the other leg is dropped), so they are cleared now.
  std::optional<Position> still_open;
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(still_open, tx.positions().GetOpen(config_.strategy_id, open->symbol));
    if (!still_open || still_open->id != open->id) return absl::OkStatus();
    still_open->take_profit.reset();
    still_open->stop_loss.reset();
    return tx.positions().Update(*still_open);
  }, fence()));
  triggers_.Drop(open->id);
  has_triggers_ = !triggers_.empty();
  if (still_open && still_open->id == open->id) placed.open_positions = {*still_open};
  return std::optional<OrderResult>(std::move(placed));
}

}  // namespace xctl
