// Error reasons: a stable, machine-readable name carried by an absl::Status
// beside its code and its message for a person, so clients branch on
// "INSUFFICIENT_MARGIN" instead of parsing English. The API layer sends it as
// a google.rpc.ErrorInfo (domain "xctl.dev") in the status details
// (server/api/status.h); the gateway puts it in its JSON error bodies; the
// Python client raises it as typed exceptions. docs/api.md, "Error reasons",
// lists each one; a reason, once published, keeps its meaning.
//
// A status without a reason of its own gets the name of its code
// ("NOT_FOUND") as reason at the API edge.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace xctl::reason {

// Prices
inline constexpr char kPriceStale[] = "PRICE_STALE";            // no price yet, or stale
inline constexpr char kPairNotConfigured[] = "PAIR_NOT_CONFIGURED";
// Strategies
inline constexpr char kStrategyNotFound[] = "STRATEGY_NOT_FOUND";
inline constexpr char kStrategyNotRunning[] = "STRATEGY_NOT_RUNNING";
inline constexpr char kSymbolNotTraded[] = "SYMBOL_NOT_TRADED";  // not one of its pairs
// Orders and positions
inline constexpr char kInsufficientMargin[] = "INSUFFICIENT_MARGIN";
inline constexpr char kClientOrderIdReused[] = "CLIENT_ORDER_ID_REUSED";
inline constexpr char kOrderNotFound[] = "ORDER_NOT_FOUND";
inline constexpr char kOrderNotCancelable[] = "ORDER_NOT_CANCELABLE";  // terminal already
inline constexpr char kNoPosition[] = "NO_POSITION";                  // nothing to close/reduce
inline constexpr char kInstrumentNotFound[] = "INSTRUMENT_NOT_FOUND";
inline constexpr char kInstrumentSuspended[] = "INSTRUMENT_SUSPENDED";
inline constexpr char kOrderSize[] = "ORDER_SIZE";  // lot, minimum or maximum size
inline constexpr char kOrderPrice[] = "ORDER_PRICE";  // tick size, missing or misplaced price
inline constexpr char kNumberOutOfRange[] = "NUMBER_OUT_OF_RANGE";  // overflowing money
// The exchange (BloFin)
inline constexpr char kExchangeRejected[] = "EXCHANGE_REJECTED";  // with metadata blofin_code
inline constexpr char kExchangeUnavailable[] = "EXCHANGE_UNAVAILABLE";
inline constexpr char kExchangeRateLimited[] = "EXCHANGE_RATE_LIMITED";
// The server
inline constexpr char kDatabaseUnavailable[] = "DATABASE_UNAVAILABLE";
inline constexpr char kAuthRateLimited[] = "AUTH_RATE_LIMITED";
// Cluster mode: this instance's lease of the strategy ended (or has too
// little time left for a live call); nothing was written or sent.
inline constexpr char kLeaseLost[] = "LEASE_LOST";
// Config: cluster.strategy_lease_ttl_ms leaves no room for a BloFin call of
// a live strategy (docs/cluster.md, "Fencing").
inline constexpr char kLeaseTtlTooShort[] = "LEASE_TTL_TOO_SHORT";
// Cluster mode: a request another instance forwarded here (metadata
// x-xctl-forwarded-by) for a strategy this instance does not run; it is not
// forwarded again (no loops). ErrorInfo metadata "owner" names the owner
// when one is known (docs/cluster.md, "Forwarding").
inline constexpr char kForwardedToNonOwner[] = "FORWARDED_TO_NON_OWNER";

}  // namespace xctl::reason

namespace xctl {

// `status` with `reason` attached (OK stays OK; an existing reason is
// replaced).
[[nodiscard]] absl::Status WithReason(absl::Status status, absl::string_view reason);

// The reason attached to `status`, if any.
std::optional<std::string> ReasonOf(const absl::Status& status);

// The reason a client sees: ReasonOf(status), else the code's name
// ("FAILED_PRECONDITION"). Empty for OK.
std::string EffectiveReason(const absl::Status& status);

// The errors several modules give, with their reasons.
// NOT_FOUND `unknown strategy "x"` (STRATEGY_NOT_FOUND).
absl::Status UnknownStrategy(absl::string_view strategy_id);
// FAILED_PRECONDITION `strategy x is stopped; start it to trade`
// (STRATEGY_NOT_RUNNING).
absl::Status StrategyStopped(absl::string_view strategy_id);
// FAILED_PRECONDITION `client order id "c" was already used for a different
// order (<existing>)` (CLIENT_ORDER_ID_REUSED); `existing` describes it.
absl::Status ClientOrderIdReused(absl::string_view client_order_id, absl::string_view existing);

}  // namespace xctl
