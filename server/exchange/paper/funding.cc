// PaperExchange::SettleFundingLocked: see funding.h.
#include "server/exchange/paper/funding.h"

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/model/funding_payment.h"
#include "server/exchange/paper/paper_exchange.h"

namespace xctl {

void PaperExchange::SettleFundingLocked(const Tick& tick, std::vector<OrderResult>* results) {
  if (deps_.funding == nullptr) return;
  const int64_t now = deps_.clock->NowMillis();
  int64_t& done = funding_done_[tick.pair];
  for (const FundingRate& settlement : deps_.funding->Settlements(tick.pair, done, now)) {
    std::optional<FundingPayment> paid;
    absl::Status st = deps_.store->Transact([&](Tx& tx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
      paid.reset();
      XCTL_ASSIGN_OR_RETURN(std::optional<Position> open,
                            tx.positions().GetOpen(config_.strategy_id, tick.pair));
      if (!open || open->open_time_ms > settlement.funding_time_ms) return absl::OkStatus();
      XCTL_ASSIGN_OR_RETURN(FundingPayment payment,
                            ComputeFunding(*open, InstrumentOf(tick.pair), settlement.rate,
                                           tick.last, settlement.funding_time_ms));
      payment.record_time_ms = now;
      XCTL_ASSIGN_OR_RETURN(bool inserted, tx.funding().InsertOnce(&payment));
      if (!inserted) return absl::OkStatus();  // settled before (a restart)
      XCTL_RETURN_IF_ERROR(UpdateAccount(tx, payment.amount, resting_, now));
      paid = payment;
      return absl::OkStatus();
    }, fence());
    if (!st.ok()) {
      // Retried on the next tick: nothing was stored.
      spdlog::warn("event=paper_funding_failed strategy={} symbol={} settlement={} error={}",
                   config_.strategy_id, tick.pair, settlement.funding_time_ms,
                   LogQuote(st.ToString()));
      return;
    }
    done = settlement.funding_time_ms;
    if (!paid) continue;
    spdlog::info("event=paper_funding strategy={} symbol={} settlement={} rate={} amount={}",
                 config_.strategy_id, tick.pair, paid->settlement_time_ms,
                 paid->rate.ToString(), paid->amount.ToString());
    OrderResult result;
    result.funding.push_back(*std::move(paid));
    results->push_back(std::move(result));
  }
}

}  // namespace xctl
