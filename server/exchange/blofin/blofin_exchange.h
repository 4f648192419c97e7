// BlofinExchange: the Exchange of a strategy with BloFin API credentials.
// Trades USDT perpetuals in one-way (net) mode through BloFin's REST API v1
// (rest_client.h), and mirrors what happens there into the store with the
// same rows a paper strategy writes (exchange_store.h), so KPIs and positions
// look the same for live and paper. Every endpoint, parameter, field, state
// and code it uses is in BloFin's documentation (../shared/blofin/index.md,
// errors.md); docs/exchanges.md has the endpoint-by-endpoint table.
//
//  - One strategy per BloFin account (account_claims.h). Before the first
//    trade the account is checked: position mode must be one-way
//    ("GET Position Mode": net_mode; a hedge-mode account is refused with how
//    to switch) and the account's margin mode is set to the strategy's
//    ("GET/Set Margin Mode"). Positions are keyed by instrument and margin
//    mode: positions in the other margin mode are not this strategy's.
//  - Orders are checked against the instrument first (same messages as
//    paper), then sent with a client order id (xctl makes one when the caller
//    gave none). The per-order result inside "data" is always read: a refusal
//    there is a refusal even under an envelope code "0". After BloFin accepts,
//    the order is read back by its id ("GET Order Detail"; the answer is
//    checked to be that order) with its fills ("GET Trade History", paged),
//    and committed in one transaction.
//  - Exactly once across unknown outcomes: when an order request gets no
//    definite answer (timeout, dropped connection, 5xx, BloFin's internal
//    error), the order is looked up by its client order id before anything
//    else. Found, it is recorded; not found, a row is kept without an
//    exchange order id ("unresolved") and the call is UNAVAILABLE. Any later
//    call with that client order id looks it up again before it ever sends
//    the order again; a duplicate-id refusal (102002, 150003) resolves to the
//    existing order. BloFin's docs do not say how long a client order id is
//    refused as a duplicate, so the lookup, not the refusal, is what keeps an
//    order from being sent twice. An unresolved order still unknown to BloFin
//    a minute later is closed as never placed.
//  - Resting orders are refreshed from BloFin on price ticks at most once per
//    `order_sync_interval` per symbol, as background requests of the shared
//    request budget (refused first when the budget runs low).
//  - Take-profit / stop-loss travel with the order (tpTriggerPrice ...); the
//    closes BloFin places when they fire are found in the order history
//    while the stored position carries them, and recorded
//    (blofin_triggers.cc).
//  - The strategy's leverage is set on each instrument before its first order.
//  - KPIs start from the account's real balance: the first balance read from
//    BloFin is the strategy's starting balance.
//  - Funding (blofin_funding.cc): BloFin documents no endpoint listing an
//    account's funding payments, so while a position is open its payments
//    are computed from the settled rates ("GET Funding Rate History") and
//    recorded once each (source "computed"); after recording, the balance
//    is read so KPIs can show what the records do not explain.
//
//  - Private WebSocket (blofin_push.cc, docs/exchanges.md "Private
//    WebSocket"): with a private URL configured, one authenticated
//    connection per exchange object (one per API key: account_claims.h)
//    follows the orders, positions and account channels. Pushed orders are
//    recorded through Sync (the REST path: fills by trade id, so a
//    duplicated or replayed push records nothing twice) and queued for
//    OnTick to return; while the connection is ready OnTick sends no
//    periodic request for resting orders. Every (re)connect refreshes the
//    resting orders and reconciles over REST. Queued results are announced
//    at once (SetResultsReady), so exchange control takes them
//    (TakeResults) without waiting for a tick.
//
//  - Cluster mode (Deps::tenure): every store write is fenced by the
//    strategy's lease tenure, and an order placement or cancel is sent only
//    while the tenure has at least the REST timeout left (PostTrade).
//
// Thread-safe: calls are serialized per exchange object.
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/exchange/blofin/account_claims.h"
#include "server/exchange/blofin/private_ws.h"
#include "server/exchange/blofin/rest_client.h"
#include "server/exchange/exchange.h"
#include "server/exchange/tenure.h"
#include "server/model/instruments.h"
#include "server/store/store.h"

namespace xctl {

struct BlofinExchangeConfig {
  std::string strategy_id;
  BlofinCredentials credentials;
  blofin::RestOptions rest;
  // "cross" or "isolated".
  std::string margin_mode = "cross";
  // Whole number from 1 to the instrument's maximum.
  Decimal leverage = Decimal::FromInt(1);
  absl::Duration order_sync_interval = absl::Seconds(2);
  // How long an unresolved order (no answer when it was sent) may stay
  // unknown to BloFin before it is closed as never placed.
  absl::Duration unresolved_timeout = absl::Minutes(1);
  // How often, per symbol with an open position, the settled funding rates
  // are read (one public request of the budget's background kind).
  absl::Duration funding_check_interval = absl::Minutes(5);
  // The private WebSocket (private_ws.h, blofin_push.cc). An empty url takes
  // rest.ws_private_url; both empty: no connection, resting orders are
  // polled as above.
  blofin::PrivateWsOptions private_ws;
};

class BlofinExchange final : public Exchange, private blofin::BlofinPrivateWs::Listener {
 public:
  struct Deps {
    Store* store = nullptr;
    const InstrumentCatalog* instruments = nullptr;
    const Clock* clock = nullptr;
    // Cluster mode: the lease tenure every store write is fenced by, and
    // which order placements and cancels need time left on (tenure.h).
    std::optional<Tenure> tenure;
  };

  // Checks the configuration (no network call) and claims the API key for
  // the strategy (FAILED_PRECONDITION when another live strategy holds it).
  // The strategy must exist in the store.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BlofinExchange>> Open(
      BlofinExchangeConfig config, const Deps& deps);

  absl::string_view name() const override { return "blofin"; }
  TradingMode mode() const override { return TradingMode::kLive; }
  const std::string& strategy_id() const override { return config_.strategy_id; }

  absl::StatusOr<OrderResult> PlaceOrder(const OrderRequest& request) override;
  absl::StatusOr<Order> CancelOrder(const CancelRequest& request) override;
  absl::StatusOr<OrderResult> ClosePosition(const CloseRequest& request) override;
  absl::StatusOr<std::vector<Order>> OpenOrders() override;
  absl::StatusOr<std::vector<Position>> Positions() override;
  absl::StatusOr<Account> Balance() override;
  absl::StatusOr<Instrument> GetInstrument(absl::string_view symbol) override;
  std::vector<OrderResult> OnTick(const Tick& tick) override;
  // What pushes recorded, announced through `ready` as each is queued
  // (blofin_push.cc).
  void SetResultsReady(ResultsReady ready) override;
  std::vector<OrderResult> TakeResults() override;
  // Checks the account (position and margin mode), then: orders: every page
  // of BloFin's pending orders; those unknown to the store are adopted; the
  // store's resting orders BloFin no longer lists get their final state (and
  // fills) from order-detail, or are cancelled when BloFin has no trace.
  // Positions (of the strategy's margin mode): BloFin's net position per
  // symbol is the truth; rows it lacks are closed (pnl recorded as 0: the
  // close happened outside xctl), missing rows are adopted, quantities
  // corrected. Last, the balance is read (the first read sets the starting
  // balance).
  absl::StatusOr<ReconcileReport> Reconcile() override;

  ~BlofinExchange() override;
  // The private WebSocket: null without a private URL (blofin_push.cc).
  const blofin::BlofinPrivateWs* private_ws() const { return ws_.get(); }
  // What pushes did, for tests and status pages.
  struct PushStats {
    uint64_t orders_applied = 0;   // pushes that changed a stored order
    uint64_t orders_ignored = 0;   // duplicates, stale (out of order) or for a final order
    uint64_t orders_unknown = 0;   // orders the store does not hold (reconcile adopts them)
    uint64_t fills_recorded = 0;
    uint64_t accounts_applied = 0;
    uint64_t position_mismatches = 0;
    uint64_t gap_refreshes = 0;    // (re)connects closed with REST
  };
  PushStats push_stats() const;

 private:
  // Which order to look up: BloFin's id, or else the client order id.
  struct OrderKey {
    std::string symbol;
    std::string order_id;
    std::string client_order_id;
  };
  static OrderKey KeyOf(const Order& order) {
    return {order.symbol, order.exchange_order_id, order.client_order_id};
  }

  BlofinExchange(BlofinExchangeConfig config, const Deps& deps, blofin::AccountClaim claim);

  absl::StatusOr<OrderResult> PlaceLocked(const OrderRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A retry of a stored order: replays it, or resolves an unresolved one
  // (looks it up; sends it again only when BloFin does not know it).
  absl::StatusOr<OrderResult> Retry(const Order& stored, const OrderRequest& request,
                                    const Instrument& instrument)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Places the order at BloFin. Write-ahead: the order is stored first as
  // unresolved (no exchange order id), so whatever happens after the POST (no
  // answer, a refused fills read, a failed write, the process killed) a retry
  // finds the row and looks the order up before anything is sent again.
  // `stored`: the unresolved row a retry found (null: a new order, whose row
  // Send writes). A definite refusal deletes the row Send wrote (nothing was
  // placed).
  absl::StatusOr<OrderResult> Send(const OrderRequest& request, const Instrument& instrument,
                                   const Order* stored) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Send's write-ahead row of a new order.
  absl::StatusOr<Order> StoreUnresolved(const OrderRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a send without a definite answer: the order found by its client
  // order id, or an unresolved row and UNAVAILABLE.
  absl::StatusOr<OrderResult> ResolveUncertain(const OrderRequest& request,
                                               const Instrument& instrument,
                                               const absl::Status& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Position mode net, margin mode the strategy's; once per exchange.
  absl::Status EnsureAccount() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EnsureLeverage(absl::string_view symbol) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // blofin_order_sync.cc: BloFin's order (index.md "GET Order Detail");
  // nullopt when BloFin does not know it. An answer that is not the order
  // asked for is UNAVAILABLE.
  absl::StatusOr<std::optional<Order>> FetchOrder(const OrderKey& key, bool background = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // BloFin's open positions of the strategy's margin mode, by symbol.
  absl::StatusOr<std::vector<Position>> RemotePositions(absl::string_view symbol = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Account> BalanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks a stored order cancelled with `reason`, in its own transaction.
  absl::StatusOr<Order> CloseLocally(Order order, absl::string_view reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Brings one resting stored order up to date (OnTick, Reconcile); nullopt
  // when nothing changed.
  absl::StatusOr<std::optional<OrderResult>> Refresh(const Order& local, bool background)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // blofin_order_sync.cc: brings the stored copy of `remote` (matched by
  // client order id; inserted when missing) up to date: its state and the
  // fills not yet recorded, in one transaction.
  absl::StatusOr<OrderResult> Sync(const Order& remote, const Instrument& instrument)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Instrument InstrumentOrGeneric(absl::string_view symbol) const;
  // What every store write passes to Store::Transact (null: no fence).
  const WriteFence* fence() const { return FenceOf(deps_.tenure); }
  // A trade request (order placement, cancel) to BloFin, sent only while the
  // tenure (if any) has the REST timeout left: LEASE_LOST before sending
  // otherwise, so a deposed owner never reaches the exchange.
  absl::StatusOr<rapidjson::Document> PostTrade(absl::string_view path,
                                                const std::string& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // blofin_triggers.cc: the stored open position in `symbol` when it carries
  // a TP or SL; and the tp/sl closes BloFin placed for it, recorded (orders
  // and fills) when the store lacks them.
  std::optional<Position> ArmedPosition(absl::string_view symbol)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<OrderResult>> SyncTriggeredCloses(const Position& armed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // blofin_funding.cc: records the funding of the open position in
  // `tick.pair` for the settlements since the last one recorded.
  void SettleFundingLocked(const Tick& tick, std::vector<OrderResult>* results)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<Order>> StoredOrder(const CancelRequest& request);
  absl::StatusOr<ReconcileReport> ReconcileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // BalanceLocked's write: `account` (as read or pushed) into the store.
  absl::Status StoreAccount(Account& account) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // blofin_push.cc: the private WebSocket's listener.
  void OnPrivateReady() override;
  void OnPrivatePush(const blofin::WsPrivateMessage& push) override;
  // One pushed order: recorded through Sync unless it is a duplicate, stale
  // or the store does not hold it.
  std::optional<OrderResult> ApplyPushedOrder(Order remote) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ComparePushedPositions(const std::vector<blofin::RemotePosition>& pushed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OnTick's part with a ready connection: the queued results, the orders
  // whose fills lagged their push, a reconcile for a lasting position
  // mismatch.
  void FollowPushes(std::vector<OrderResult>* results) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues `results` for TakeResults / OnTick and announces them; called
  // with mu_ not held (the announcement runs with no lock of the exchange).
  void Publish(std::vector<OrderResult> results) ABSL_LOCKS_EXCLUDED(mu_, push_mu_);
  void CountPush(uint64_t PushStats::*field, uint64_t n = 1);

  const BlofinExchangeConfig config_;
  const Deps deps_;
  const blofin::AccountClaim claim_;
  blofin::RestClient rest_;
  absl::Mutex mu_;
  bool account_checked_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, bool> leverage_set_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> last_sync_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> next_funding_check_ ABSL_GUARDED_BY(mu_);
  // Client order ids whose pushed filled size is ahead of the fills BloFin
  // lists yet: refreshed on ticks until they agree.
  absl::flat_hash_map<std::string, Order> lagging_ ABSL_GUARDED_BY(mu_);
  // Symbols whose pushed position differs from the stored one, since when.
  absl::flat_hash_map<std::string, absl::Time> position_mismatch_ ABSL_GUARDED_BY(mu_);
  int64_t account_push_ts_ ABSL_GUARDED_BY(mu_) = 0;
  mutable absl::Mutex push_mu_;  // after mu_
  std::vector<OrderResult> pushed_ ABSL_GUARDED_BY(push_mu_);
  ResultsReady results_ready_ ABSL_GUARDED_BY(push_mu_);
  PushStats push_stats_ ABSL_GUARDED_BY(push_mu_);
  std::unique_ptr<blofin::BlofinPrivateWs> ws_;  // last: stopped first
};

}  // namespace xctl
