// The strategy manager's request and answer types: a strategy as the API
// shows it (StrategyView), what Create, Update and List take (StrategySpec,
// NewStrategy, StrategyUpdate, StrategyFilter). Plain data; no secrets leave
// through a StrategyView.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/common/decimal.h"
#include "server/control/strategy_info.h"
#include "server/exchange/credentials.h"
#include "server/strategy/registry.h"
#include "server/strategy/strategy_entry.h"

namespace xctl {

// A strategy as the API shows it: the stored fields without secrets, plus its
// mode and runtime status.
struct StrategyView {
  std::string id;
  std::string name;
  std::string type;
  std::vector<std::string> pairs;
  StrategyParams params;
  Decimal starting_balance;
  Decimal leverage;
  std::optional<Decimal> taker_fee_rate;
  std::optional<Decimal> maker_fee_rate;
  // The stored desired status.
  bool desired_running = false;
  TradingMode mode = TradingMode::kPaper;
  StrategyStatus status = StrategyStatus::kStopped;
  std::string status_message;
  bool has_credentials = false;
  bool has_signal_secret = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// The settable fields of a strategy.
struct StrategySpec {
  // Empty on Create: the manager picks "<type>-<8 hex digits>".
  std::string id;
  // Empty: the id.
  std::string name;
  std::string type;
  std::vector<std::string> pairs;
  StrategyParams params;
  // Paper account start in USDT, > 0; unset on Create: 10000.
  std::optional<Decimal> starting_balance;
  // > 0; unset on Create: 1.
  std::optional<Decimal> leverage;
  // Fractions in [0, 1); unset: BloFin's standard rates.
  std::optional<Decimal> taker_fee_rate;
  std::optional<Decimal> maker_fee_rate;
};

struct NewStrategy {
  StrategySpec spec;
  // Present: the strategy trades live on BloFin.
  std::optional<BlofinCredentials> credentials;
  // Non-empty: signals must carry it.
  std::string signal_secret;
  // Start at once (stored as the desired status).
  bool start = false;
};

struct StrategyUpdate {
  std::string id;
  // Field mask: which of `values` to apply. Among: name, pairs, params,
  // starting_balance, leverage, taker_fee_rate, maker_fee_rate (an unset fee
  // rate returns to the standard rate).
  std::vector<std::string> paths;
  StrategySpec values;
  // Set: switch to live with these credentials. Not with clear_credentials.
  std::optional<BlofinCredentials> credentials;
  // Remove the credentials: switch to paper.
  bool clear_credentials = false;
  // Non-empty: set or replace the signal secret. Not with clear_signal_secret.
  std::string signal_secret;
  bool clear_signal_secret = false;
};

// Empty / nullopt match everything.
struct StrategyFilter {
  std::string type;
  std::optional<StrategyStatus> status;
  std::optional<TradingMode> mode;
};

}  // namespace xctl
