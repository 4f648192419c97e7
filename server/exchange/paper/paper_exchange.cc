#include "server/exchange/paper/paper_exchange.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/exchange_store.h"
#include "server/exchange/paper/arrival.h"
#include "server/model/ledger.h"

namespace xctl {
namespace {

// True when `tick` lets a limit order at `limit` trade now.
bool Crosses(const Tick& tick, Side side, Decimal limit) {
  return side == Side::kBuy ? tick.FillPrice(true) <= limit : tick.FillPrice(false) >= limit;
}

Side Opposite(PositionSide side) { return side == PositionSide::kLong ? Side::kSell : Side::kBuy; }

}  // namespace

absl::StatusOr<std::unique_ptr<PaperExchange>> PaperExchange::Open(
    const PaperAccountConfig& config, const Deps& deps) {
  if (!deps.store || !deps.prices || !deps.instruments || !deps.clock) {
    return absl::InvalidArgumentError("PaperExchange needs a store, prices, instruments and a clock");
  }
  // A negative maker rate is a rebate (BloFin pays makers on some tiers).
  if (!config.leverage.is_positive() || config.starting_balance.is_negative() ||
      config.taker_fee_rate.is_negative() ||
      (config.margin_mode != "cross" && config.margin_mode != "isolated")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "paper account of ", config.strategy_id,
        ": leverage must be > 0, starting balance and taker fee rate >= 0, and the margin mode "
        "cross or isolated"));
  }
  std::unique_ptr<PaperExchange> ex(new PaperExchange(config, deps));
  absl::MutexLock lock(&ex->mu_);
  const int64_t now = deps.clock->NowMillis();
  std::vector<Order> resting;
  std::vector<Position> open;
  XCTL_RETURN_IF_ERROR(deps.store->Transact([&](Tx& tx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ex->mu_) -> absl::Status {
    XCTL_RETURN_IF_ERROR(tx.strategies().Get(config.strategy_id).status());
    XCTL_ASSIGN_OR_RETURN(std::optional<Account> account, tx.accounts().Get(config.strategy_id));
    if (!account) {
      XCTL_RETURN_IF_ERROR(tx.accounts().Upsert(Account{.strategy_id = config.strategy_id,
                                                        .starting_balance = config.starting_balance,
                                                        .balance = config.starting_balance,
                                                        .leverage = config.leverage,
                                                        .update_time_ms = now}));
    }
    XCTL_ASSIGN_OR_RETURN(resting, tx.orders().ListResting(config.strategy_id));
    XCTL_ASSIGN_OR_RETURN(open, tx.positions().ListOpen(config.strategy_id));
    // The configured leverage applies from now on; margin in use follows it.
    return ex->UpdateAccount(tx, Decimal(), resting, now);
  }, ex->fence()));
  ex->resting_ = std::move(resting);
  ex->has_resting_ = !ex->resting_.empty();
  ex->LoadTriggers(open);
  return ex;
}

Instrument PaperExchange::InstrumentOf(absl::string_view symbol) const {
  auto spec = deps_.instruments->Get(symbol);
  return spec.ok() ? *spec : GenericInstrument(symbol);
}

absl::StatusOr<Instrument> PaperExchange::GetInstrument(absl::string_view symbol) {
  return deps_.instruments->Get(symbol);
}

absl::StatusOr<TickPtr> PaperExchange::FreshTick(absl::string_view symbol) const {
  TickPtr tick = deps_.prices->Latest(symbol);
  if (!tick) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "no price for ", symbol,
                          " yet: market orders fill at the price module's latest price ",
                          "(is ", symbol, " in price.pairs?)")),
                      reason::kPriceStale);
  }
  if (tick->stale) {
    int64_t age_ms = deps_.clock->NowMillis() - tick->receive_time_ms;
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "the price of ", symbol, " is stale (last update ", age_ms / 1000,
                          " s ago); market orders wait for a fresh price")),
                      reason::kPriceStale);
  }
  return tick;
}

std::vector<Order> PaperExchange::RestingExcept(int64_t order_id) const {
  std::vector<Order> out;
  for (const Order& o : resting_) {
    if (o.id != order_id) out.push_back(o);
  }
  return out;
}

absl::StatusOr<OrderResult> PaperExchange::Fill(Order order, const Instrument& instrument,
                                                Decimal price, bool maker, MarginCheck check) {
  const int64_t now = deps_.clock->NowMillis();
  const std::vector<Order> other_resting = RestingExcept(order.id);
  OrderResult result;
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    result = OrderResult{};
    Order o = order;
    // The account and open rows, read once: the margin check, the ledger and
    // the account row below all work from them.
    XCTL_ASSIGN_OR_RETURN(AccountState state, ReadAccountState(tx));
    if (check == MarginCheck::kTaker) {
      XCTL_RETURN_IF_ERROR(CheckMargin(state, instrument, o.side, price, o.quantity,
                                       config_.taker_fee_rate));
    }
    const std::optional<Position> open = state.OpenIn(o.symbol);
    Decimal quantity = o.quantity - o.filled_quantity;
    if (o.reduce_only) {
      if (!open || open->side == SideOpened(o.side)) {
        if (o.id == 0) {
          return WithReason(
              absl::FailedPreconditionError(absl::StrCat(
                  "reduce-only ", ToString(o.side), " would not reduce a position: ",
                  open ? absl::StrCat("the open position in ", o.symbol, " is ",
                                      ToString(open->side))
                       : absl::StrCat("there is no open position in ", o.symbol))),
              reason::kNoPosition);
        }
        // A resting reduce-only order whose position is gone: cancel it.
        o.status = OrderStatus::kCanceled;
        o.reject_reason = "reduce-only order had no position left to reduce";
        o.update_time_ms = now;
        XCTL_RETURN_IF_ERROR(tx.orders().Update(o));
        XCTL_RETURN_IF_ERROR(WriteAccount(tx, state, Decimal(), other_resting, now));
        result.order = o;
        return absl::OkStatus();
      }
      quantity = std::min(quantity, open->quantity);
    }
    // Checked: an error here aborts the transaction, so nothing is stored.
    XCTL_ASSIGN_OR_RETURN(
        const Decimal fee,
        ledger::CheckedFee(price, quantity, instrument,
                          maker ? config_.maker_fee_rate : config_.taker_fee_rate));
    xctl::Fill fill{.price = price, .quantity = quantity, .fee = fee, .maker = maker,
                    .time_ms = now};
    o.status = OrderStatus::kFilled;
    XCTL_ASSIGN_OR_RETURN(RecordedFill recorded,
                          RecordFill(tx, o, fill, instrument, "paper", open));
    if (recorded.open) result.open_positions.push_back(*recorded.open);
    state.Replace(o.symbol, recorded.open);
    XCTL_RETURN_IF_ERROR(WriteAccount(tx, state, recorded.balance_delta, other_resting, now));
    result.order = o;
    result.fills.push_back(fill);
    result.closed_positions = std::move(recorded.closed);
    return absl::OkStatus();
  }, fence()));
  if (order.id != 0) resting_ = other_resting;
  has_resting_ = !resting_.empty();
  ApplyTriggers(result);
  return result;
}

absl::StatusOr<std::optional<OrderResult>> PaperExchange::Replay(const OrderRequest& request) {
  if (request.client_order_id.empty()) return std::nullopt;
  std::optional<OrderResult> result;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(std::optional<Order> stored,
                          tx.orders().GetByClientOrderId(config_.strategy_id,
                                                         request.client_order_id));
    if (!stored) return absl::OkStatus();
    if (!MatchesRequest(*stored, request)) {
      return ClientOrderIdReused(request.client_order_id, DescribeOrder(*stored));
    }
    XCTL_ASSIGN_OR_RETURN(result, ReplayedResult(tx, *stored));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<OrderResult> PaperExchange::PlaceOrder(const OrderRequest& request) {
  absl::MutexLock lock(&mu_);
  return PlaceLocked(request);
}

absl::StatusOr<OrderResult> PaperExchange::PlaceLocked(const OrderRequest& request) {
  XCTL_ASSIGN_OR_RETURN(Instrument instrument,
                        CheckOrderFor(request, config_.strategy_id, "paper", *deps_.instruments));
  absl::StatusOr<OrderResult> placed = PlaceNewLocked(request, instrument);
  if (placed.ok() || request.client_order_id.empty()) return placed;
  // A client order id seen before answers with its stored result, whatever
  // stopped this attempt: the order's insert (UNIQUE (strategy_id,
  // client_order_id): a retry of a stored order), or a check that the
  // original passed and the retry no longer does (a stale price, the margin
  // now). So a retry never trades twice, and a fill costs no lookup first.
  absl::StatusOr<std::optional<OrderResult>> replayed = Replay(request);
  if (!replayed.ok()) {
    // The id of another order is the answer; a store error is not news.
    return ReasonOf(replayed.status()) == reason::kClientOrderIdReused ? replayed.status()
                                                                        : placed;
  }
  if (*replayed) return **std::move(replayed);
  return placed;
}

absl::StatusOr<OrderResult> PaperExchange::PlaceNewLocked(const OrderRequest& request,
                                                          const Instrument& instrument) {
  TickPtr latest = deps_.prices->Latest(request.symbol);
  const bool fresh = latest && !latest->stale;
  if (fresh && (request.take_profit || request.stop_loss)) {
    // BloFin checks TP/SL against the latest trading price (errors.md 102037-102040).
    XCTL_RETURN_IF_ERROR(CheckTriggerSides(request, latest->last, "latest price"));
  }

  Order order{.strategy_id = config_.strategy_id,
              .client_order_id = request.client_order_id.empty() ? NewClientOrderId()
                                                                 : request.client_order_id,
              .symbol = request.symbol,
              .side = request.side,
              .type = request.type,
              .price = request.price,
              .quantity = request.quantity,
              .status = OrderStatus::kOpen,
              .reduce_only = request.reduce_only,
              .take_profit = request.take_profit,
              .stop_loss = request.stop_loss,
              .mode = TradingMode::kPaper};
  const bool buy = request.side == Side::kBuy;

  if (request.type == OrderType::kMarket) {
    XCTL_ASSIGN_OR_RETURN(TickPtr tick, FreshTick(request.symbol));
    const Decimal price = tick->FillPrice(buy);
    // A market order's notional is checked at its fill price.
    XCTL_RETURN_IF_ERROR(CheckedNotional(instrument, price, request.quantity).status());
    return Fill(std::move(order), instrument, price, /*maker=*/false,
                request.reduce_only ? MarginCheck::kNone : MarginCheck::kTaker);
  }

  if (!fresh && (request.type == OrderType::kIoc || request.type == OrderType::kFok)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "an ", ToString(request.type), " order fills or cancels at once against the latest price: ",
        FreshTick(request.symbol).status().message()));
  }
  const TickPtr& tick = latest;
  const paper::ArrivalDecision arrival =
      paper::DecideArrival(request.type, fresh && Crosses(*tick, request.side, *request.price));
  if (arrival.action == paper::Arrival::kCancel) {
    return StoreCanceled(std::move(order), arrival.reason);
  }
  if (arrival.action == paper::Arrival::kFillNow) {
    // Marketable limit order: trades at once at the book, as a taker.
    const Decimal price = tick->FillPrice(buy);
    XCTL_RETURN_IF_ERROR(CheckedNotional(instrument, price, request.quantity).status());
    return Fill(std::move(order), instrument, price, /*maker=*/false,
                request.reduce_only ? MarginCheck::kNone : MarginCheck::kTaker);
  }
  const int64_t now = deps_.clock->NowMillis();
  std::vector<Order> resting = resting_;
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(AccountState state, ReadAccountState(tx));
    if (!request.reduce_only) {
      XCTL_RETURN_IF_ERROR(CheckMargin(state, instrument, request.side, *request.price,
                                       request.quantity, config_.maker_fee_rate));
    } else {
      const std::optional<Position> open = state.OpenIn(request.symbol);
      if (!open || open->side == SideOpened(request.side)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "reduce-only ", ToString(request.side), " would not reduce a position in ",
            request.symbol));
      }
    }
    Order o = order;
    o.create_time_ms = o.update_time_ms = now;
    XCTL_RETURN_IF_ERROR(tx.orders().Insert(&o));
    std::vector<Order> with_new = resting;
    with_new.push_back(o);
    XCTL_RETURN_IF_ERROR(WriteAccount(tx, state, Decimal(), with_new, now));
    order = o;
    return absl::OkStatus();
  }, fence()));
  resting_.push_back(order);
  has_resting_ = true;
  return OrderResult{.order = order};
}

absl::StatusOr<OrderResult> PaperExchange::StoreCanceled(Order order, absl::string_view reason) {
  order.status = OrderStatus::kCanceled;
  order.reject_reason = std::string(reason);
  order.create_time_ms = order.update_time_ms = deps_.clock->NowMillis();
  XCTL_RETURN_IF_ERROR(
      deps_.store->Transact([&](Tx& tx) { return tx.orders().Insert(&order); }, fence()));
  return OrderResult{.order = order};
}

absl::StatusOr<Order> PaperExchange::CancelOrder(const CancelRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckCancelRequest(request));
  absl::MutexLock lock(&mu_);
  auto it = std::find_if(resting_.begin(), resting_.end(), [&](const Order& o) {
    return request.order_id != 0 ? o.id == request.order_id
                                 : o.client_order_id == request.client_order_id;
  });
  const std::string which = OrderName(request);
  if (it == resting_.end()) {
    std::optional<Order> stored;
    XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(stored, FindOrder(tx, config_.strategy_id, request));
      return absl::OkStatus();
    }));
    if (!stored) {
      return WithReason(absl::NotFoundError(absl::StrCat(which, " not found for strategy ",
                                                         config_.strategy_id)),
                        reason::kOrderNotFound);
    }
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          which, " cannot be cancelled: it is already ",
                          ToString(stored->status))),
                      reason::kOrderNotCancelable);
  }
  Order order = *it;
  order.status = OrderStatus::kCanceled;
  order.update_time_ms = deps_.clock->NowMillis();
  const std::vector<Order> others = RestingExcept(order.id);
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    XCTL_RETURN_IF_ERROR(tx.orders().Update(order));
    return UpdateAccount(tx, Decimal(), others, order.update_time_ms);
  }, fence()));
  resting_ = others;
  has_resting_ = !resting_.empty();
  return order;
}

absl::StatusOr<OrderResult> PaperExchange::ClosePosition(const CloseRequest& request) {
  absl::MutexLock lock(&mu_);
  std::optional<Position> open;
  std::optional<Order> seen;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(open, tx.positions().GetOpen(config_.strategy_id, request.symbol));
    if (!request.client_order_id.empty()) {
      XCTL_ASSIGN_OR_RETURN(seen, tx.orders().GetByClientOrderId(config_.strategy_id,
                                                                 request.client_order_id));
    }
    return absl::OkStatus();
  }));
  OrderRequest order{.strategy_id = config_.strategy_id,
                     .client_order_id = request.client_order_id,
                     .symbol = request.symbol,
                     .type = OrderType::kMarket,
                     .reduce_only = true};
  if (seen) {
    // A retry of a close that went through: the position may be gone by now.
    order.side = seen->side;
    order.quantity = request.quantity.value_or(seen->quantity);
    return PlaceLocked(order);
  }
  if (!open) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("no open position in ", request.symbol, " to close")),
                      reason::kNoPosition);
  }
  Decimal quantity = request.quantity.value_or(open->quantity);
  if (quantity > open->quantity) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "cannot close ", quantity.ToString(), " contracts: the open ",
                          ToString(open->side), " position in ", request.symbol, " is ",
                          open->quantity.ToString())),
                      reason::kNoPosition);
  }
  order.side = Opposite(open->side);
  order.quantity = quantity;
  return PlaceLocked(order);
}

absl::StatusOr<std::vector<Order>> PaperExchange::OpenOrders() {
  absl::MutexLock lock(&mu_);
  return resting_;
}

absl::StatusOr<std::vector<Position>> PaperExchange::Positions() {
  std::vector<Position> out;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(out, tx.positions().ListOpen(config_.strategy_id));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Account> PaperExchange::Balance() {
  std::optional<Account> account;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(account, tx.accounts().Get(config_.strategy_id));
    return absl::OkStatus();
  }));
  if (!account) {
    return absl::InternalError(absl::StrCat("paper account of ", config_.strategy_id, " is missing"));
  }
  return *account;
}

std::vector<OrderResult> PaperExchange::OnTick(const Tick& tick) {
  std::vector<OrderResult> results;
  if (tick.stale) return results;
  absl::MutexLock lock(&mu_);
  SettleFundingLocked(tick, &results);
  // Resting orders and TP/SL first: a stop-loss above the liquidation price
  // is reached first while the price moves there.
  if (!resting_.empty() || !triggers_.empty()) FillRestingAndTriggersLocked(tick, &results);
  LiquidateLocked(tick, &results);
  return results;
}

void PaperExchange::FillRestingAndTriggersLocked(const Tick& tick,
                                                 std::vector<OrderResult>* out) {
  std::vector<OrderResult>& results = *out;
  const std::vector<Order> snapshot = resting_;
  for (const Order& o : snapshot) {
    if (o.symbol != tick.pair || !o.price || !Crosses(tick, o.side, *o.price)) continue;
    auto filled = Fill(o, InstrumentOf(o.symbol), *o.price, /*maker=*/true);
    if (!filled.ok()) {
      spdlog::warn("event=paper_limit_fill_failed strategy={} order={} error={}",
                    config_.strategy_id, o.id, LogQuote(filled.status().ToString()));
      continue;
    }
    results.push_back(*std::move(filled));
  }
  for (const paper::DueTrigger& due : triggers_.Due(tick)) {
    auto fired = FireTrigger(due);
    if (!fired.ok()) {
      spdlog::warn("event=paper_trigger_failed strategy={} position={} leg={} error={}",
                   config_.strategy_id, due.position.id, paper::ToString(due.leg),
                   LogQuote(fired.status().ToString()));
      continue;
    }
    if (*fired) results.push_back(**std::move(fired));
  }
}

}  // namespace xctl
