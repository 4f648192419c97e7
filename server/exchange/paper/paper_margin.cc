// PaperExchange's account side: the margin check and the account row, from
// the account and open positions read once per transaction
// (PaperExchange::AccountState), so a fill reads each of them once.
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/common/status_macros.h"
#include "server/exchange/paper/paper_exchange.h"
#include "server/model/ledger.h"

namespace xctl {

absl::StatusOr<PaperExchange::AccountState> PaperExchange::ReadAccountState(Tx& tx) const {
  XCTL_ASSIGN_OR_RETURN(std::optional<Account> account, tx.accounts().Get(config_.strategy_id));
  if (!account) {
    return absl::InternalError(absl::StrCat("paper account of ", config_.strategy_id, " is missing"));
  }
  AccountState state{.account = *std::move(account)};
  XCTL_ASSIGN_OR_RETURN(state.open, tx.positions().ListOpen(config_.strategy_id));
  return state;
}

namespace {

// The open row in `symbol` among `open` (one at most per symbol), if any.
std::optional<Position> OpenRowIn(const std::vector<Position>& open, absl::string_view symbol) {
  for (const Position& p : open) {
    if (p.symbol == symbol) return p;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Position> PaperExchange::AccountState::OpenIn(absl::string_view symbol) const {
  return OpenRowIn(open, symbol);
}

void PaperExchange::AccountState::Replace(absl::string_view symbol,
                                          const std::optional<Position>& row) {
  std::erase_if(open, [&](const Position& p) { return p.symbol == symbol; });
  if (row) open.push_back(*row);
}

Decimal PaperExchange::MarginInUse(const std::vector<Position>& open,
                                   const std::vector<Order>& resting) {
  has_open_ = !open.empty();
  Decimal total;
  for (const Position& p : open) {
    total = total + ledger::InitialMargin(p, InstrumentOf(p.symbol), config_.leverage);
  }
  for (const Order& o : resting) {
    if (o.reduce_only || !o.price) continue;
    Decimal increasing = ledger::IncreasingQuantity(OpenRowIn(open, o.symbol), o.side,
                                                    o.quantity - o.filled_quantity);
    total = total + ledger::Margin(*o.price, increasing, InstrumentOf(o.symbol), config_.leverage);
  }
  return total;
}

absl::Status PaperExchange::WriteAccount(Tx& tx, const AccountState& state, Decimal balance_delta,
                                         const std::vector<Order>& resting, int64_t now_ms) {
  ++writes_;
  Account account = state.account;
  account.balance = account.balance + balance_delta;
  account.leverage = config_.leverage;
  account.margin_used = MarginInUse(state.open, resting);
  account.update_time_ms = now_ms;
  return tx.accounts().Upsert(account);
}

absl::Status PaperExchange::UpdateAccount(Tx& tx, Decimal balance_delta,
                                          const std::vector<Order>& resting, int64_t now_ms) {
  XCTL_ASSIGN_OR_RETURN(AccountState state, ReadAccountState(tx));
  return WriteAccount(tx, state, balance_delta, resting, now_ms);
}

absl::Status PaperExchange::CheckMargin(const AccountState& state, const Instrument& instrument,
                                        Side side, Decimal price, Decimal quantity,
                                        Decimal fee_rate) const {
  const Account& account = state.account;
  // Checked arithmetic throughout: an order whose margin or fee cannot be
  // computed is refused here, before anything is stored.
  auto refuse = [](const absl::Status& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("order refused: its margin cannot be checked: ", why.message()));
  };
  Decimal unrealized;
  std::optional<Position> in_symbol;
  for (const Position& p : state.open) {
    if (p.symbol == instrument.symbol) in_symbol = p;
    if (TickPtr tick = deps_.prices->Latest(p.symbol)) {
      absl::StatusOr<Decimal> pnl =
          ledger::CheckedUnrealizedPnl(p, InstrumentOf(p.symbol), tick->last);
      if (pnl.ok()) pnl = Decimal::CheckedAdd(unrealized, *pnl);
      if (!pnl.ok()) return refuse(pnl.status());
      unrealized = *pnl;
    }
  }
  Decimal increasing = ledger::IncreasingQuantity(in_symbol, side, quantity);
  absl::StatusOr<Decimal> margin =
      ledger::CheckedMargin(price, increasing, instrument, config_.leverage);
  if (!margin.ok()) return margin.status();
  absl::StatusOr<Decimal> fee = ledger::CheckedFee(price, quantity, instrument, fee_rate);
  if (!fee.ok()) return fee.status();
  absl::StatusOr<Decimal> needed_or = Decimal::CheckedAdd(*margin, *fee);
  if (!needed_or.ok()) return refuse(needed_or.status());
  absl::StatusOr<Decimal> available_or = Decimal::CheckedAdd(account.balance, unrealized);
  if (available_or.ok()) available_or = Decimal::CheckedSub(*available_or, account.margin_used);
  if (!available_or.ok()) return refuse(available_or.status());
  const Decimal needed = *needed_or, available = *available_or;
  if (needed > available) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "insufficient margin: the order needs ", needed.ToString(), " USDT (initial margin ",
            margin->ToString(), " at ", config_.leverage.ToString(), "x leverage + fee ",
            fee->ToString(), "), available ", available.ToString(), " USDT (balance ",
            account.balance.ToString(), ", unrealized pnl ", unrealized.ToString(),
            ", margin in use ", account.margin_used.ToString(), ")")),
        reason::kInsufficientMargin);
  }
  return absl::OkStatus();
}

}  // namespace xctl
