// Paper funding (docs/exchanges.md, "Funding"): what PaperExchange does at a
// settlement of a perpetual pair. The price module reads BloFin's funding
// rate of every configured pair (index.md, "GET Funding Rate": fundingRate
// applies at fundingTime, the next settlement); simulated and replayed prices
// have no funding rate, so nothing settles on them.
//
// At the first tick of a pair at or after a settlement time, the open paper
// position in that pair (opened at or before the settlement) pays or receives
//   amount = -direction x rate x quantity x contract value x price
// (ComputeFunding, server/model/funding_payment.h; a long pays a positive
// rate), at the tick's last price (the docs give no mark price with the
// rate). The row (funding_payments, source "computed") and the account's new
// balance are written in one transaction; the row's unique key (strategy,
// symbol, settlement time) makes a repeated settlement (another tick, a
// restart, a retry) a no-op, so funding is counted once.
//
// The implementation is PaperExchange::SettleFundingLocked in funding.cc.
#pragma once
