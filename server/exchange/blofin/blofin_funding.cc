// BlofinExchange::SettleFundingLocked: funding of live positions.
//
// BloFin's account balance changes at every funding settlement, but its docs
// list no endpoint with an account's funding payments (index.md has "GET
// Funding Rate", "GET Funding Rate History", and the account's balance,
// positions and positions history, none with a funding amount). So xctl
// computes each payment from the settled rate (index.md, "GET Funding Rate
// History": fundingRate is the actual rate of the settlement at
// fundingTime) and the stored position, records it once (source
// "computed"), and then reads the balance: exchange control reports what the
// records do not explain as `unexplained` (docs/exchanges.md, "Funding").
//
// Assumptions where the docs are silent (least convenient): the order of the
// history's entries is not documented, so they are sorted; the price of a
// settlement is not given, so the latest tick's last price is used; the
// quantity is the stored position's when the settlement is recorded.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "server/exchange/blofin/json.h"
#include "server/model/funding_payment.h"

namespace xctl {
namespace {

// index.md, "GET Funding Rate History": instId required; before = records
// newer than the given fundingTime; limit at most 100.
constexpr absl::string_view kFundingHistoryPath = "/api/v1/market/funding-rate-history";

}  // namespace

void BlofinExchange::SettleFundingLocked(const Tick& tick, std::vector<OrderResult>* results) {
  const absl::Time now = deps_.clock->Now();
  absl::Time& next = next_funding_check_[tick.pair];
  if (now < next) return;
  next = now + config_.funding_check_interval;
  std::optional<Position> open;
  std::optional<int64_t> last;
  absl::Status read = deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(open, tx.positions().GetOpen(config_.strategy_id, tick.pair));
    XCTL_ASSIGN_OR_RETURN(last, tx.funding().LastSettlement(config_.strategy_id, tick.pair));
    return absl::OkStatus();
  });
  if (!read.ok() || !open || open->mode != TradingMode::kLive) return;
  // Settlements at or after the position's opening, after the last recorded.
  const int64_t since = std::max(last.value_or(0), open->open_time_ms - 1);
  auto doc = rest_.Get(kFundingHistoryPath,
                       {{"instId", tick.pair}, {"before", std::to_string(since)}, {"limit", "100"}},
                       /*background=*/true);
  if (!doc.ok()) {
    next = now + absl::Seconds(30);  // retried soon, within the budget
    spdlog::warn("event=blofin_funding_failed strategy={} symbol={} error={}",
                 config_.strategy_id, tick.pair, LogQuote(doc.status().ToString()));
    return;
  }
  std::vector<blofin::SettledFunding> settled;
  for (const rapidjson::Value* v : blofin::Items((*doc)["data"])) {
    auto f = blofin::ParseSettledFunding(*v);
    if (!f.ok()) {
      spdlog::warn("event=blofin_funding_failed strategy={} symbol={} error={}",
                   config_.strategy_id, tick.pair, LogQuote(f.status().ToString()));
      return;  // nothing recorded from a malformed answer
    }
    if (f->symbol == tick.pair && f->time_ms > since && f->time_ms <= absl::ToUnixMillis(now)) {
      settled.push_back(*std::move(f));
    }
  }
  std::sort(settled.begin(), settled.end(),
            [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; });
  OrderResult result;
  const Instrument instrument = InstrumentOrGeneric(tick.pair);
  for (const blofin::SettledFunding& f : settled) {
    absl::StatusOr<FundingPayment> payment =
        ComputeFunding(*open, instrument, f.rate, tick.last, f.time_ms);
    absl::Status st = payment.status();
    bool inserted = false;
    if (st.ok()) {
      payment->record_time_ms = absl::ToUnixMillis(now);
      st = deps_.store->Transact([&](Tx& tx) -> absl::Status {
        XCTL_ASSIGN_OR_RETURN(inserted, tx.funding().InsertOnce(&*payment));
        return absl::OkStatus();
      }, fence());
    }
    if (!st.ok()) {
      spdlog::warn("event=blofin_funding_failed strategy={} symbol={} settlement={} error={}",
                   config_.strategy_id, tick.pair, f.time_ms, LogQuote(st.ToString()));
      break;
    }
    if (!inserted) continue;
    spdlog::info("event=blofin_funding strategy={} symbol={} settlement={} rate={} amount={}",
                 config_.strategy_id, tick.pair, f.time_ms, f.rate.ToString(),
                 payment->amount.ToString());
    result.funding.push_back(*std::move(payment));
  }
  if (result.funding.empty()) return;
  // The balance after the settlement, so KPIs show what is not attributed.
  auto account = BalanceLocked();
  if (account.ok()) result.account = *std::move(account);
  results->push_back(std::move(result));
}

}  // namespace xctl
