// Portfolio: the money the exchange charges or pays outside fills
// (docs/kpis.md, "Funding, liquidations and the unexplained"): funding
// payments, liquidations, and for live strategies the part of the account's
// balance that the recorded fills, fees and funding do not explain.
#include "server/common/status_macros.h"
#include "server/control/portfolio.h"

namespace xctl {

// The paper exchange's liquidation orders (server/exchange/paper/liquidation.h).
constexpr absl::string_view kLiquidationPrefix = "liq-";

void Portfolio::AddFundingLocked(Entry& e, const FundingPayment& payment) {
  if (payment.id != 0 && !e.funding_ids.insert(payment.id).second) return;
  e.funding += payment.amount;
  e.kpis.AddFunding(payment.settlement_time_ms, payment.amount);
  if (aggregates_stale_ || e.type_aggregate == nullptr) return;
  for (Aggregate* agg : {e.type_aggregate, &all_}) {
    agg->kpis.AddFunding(payment.settlement_time_ms, payment.amount);
  }
}

void Portfolio::AddLiquidationLocked(Entry& e) {
  ++e.liquidations;
  e.kpis.AddLiquidations(1);
  if (aggregates_stale_ || e.type_aggregate == nullptr) return;
  for (Aggregate* agg : {e.type_aggregate, &all_}) agg->kpis.AddLiquidations(1);
}

void Portfolio::UpdateUnexplainedLocked(Entry& e) {
  Decimal unexplained;
  if (e.info.mode() == TradingMode::kLive && e.account_balance) {
    // Cash the records explain: start + realized pnl (net of fees) - fees
    // already paid on open rows + funding.
    const Decimal explained = e.info.starting_balance + e.realized - e.open_fees + e.funding;
    unexplained = *e.account_balance - explained;
  }
  const Decimal delta = unexplained - e.unexplained;
  e.unexplained = unexplained;
  e.kpis.SetUnexplained(unexplained);
  if (delta.is_zero() || aggregates_stale_ || e.type_aggregate == nullptr) return;
  for (Aggregate* agg : {e.type_aggregate, &all_}) {
    agg->unexplained += delta;
    agg->kpis.SetUnexplained(agg->unexplained);
  }
}

absl::Status Portfolio::LoadMoneyLocked(Entry& e) {
  std::vector<FundingPayment> funding;
  int64_t liquidations = 0;
  std::optional<Account> account;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(funding, tx.funding().ListByStrategy(e.info.id));
    XCTL_ASSIGN_OR_RETURN(liquidations,
                          tx.orders().CountWithClientPrefix(e.info.id, kLiquidationPrefix));
    XCTL_ASSIGN_OR_RETURN(account, tx.accounts().Get(e.info.id));
    return absl::OkStatus();
  }));
  e.funding = Decimal();
  e.funding_ids.clear();
  e.liquidations = 0;
  e.unexplained = Decimal();
  for (const FundingPayment& payment : funding) AddFundingLocked(e, payment);
  e.liquidations = liquidations;
  e.kpis.AddLiquidations(liquidations);
  e.account_balance.reset();
  if (account && e.info.mode() == TradingMode::kLive) e.account_balance = account->balance;
  UpdateUnexplainedLocked(e);
  return absl::OkStatus();
}

}  // namespace xctl
