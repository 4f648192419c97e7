// StrategyInfo and StrategyTrading: the narrow contract between the strategy
// manager and exchange control. The strategy manager owns the strategies
// (records, lifecycle, credentials); exchange control owns one exchange per
// strategy and the trade routing (OrderRouter), the positions and the KPIs
// (Portfolio). The manager tells
// control what each strategy is (UpsertStrategy, SetRunning, RemoveStrategy)
// and trades through it; tests of the manager use a fake StrategyTrading.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/exchange/credentials.h"
#include "server/exchange/exchange.h"
#include "server/exchange/tenure.h"

namespace xctl {

// What exchange control needs to know of a strategy.
struct StrategyInfo {
  std::string id;
  std::string type;
  std::vector<std::string> pairs;
  bool running = false;
  Decimal starting_balance = Decimal::FromInt(10000);
  Decimal leverage = Decimal::FromInt(1);
  std::optional<Decimal> taker_fee_rate;
  std::optional<Decimal> maker_fee_rate;
  // Present: the strategy trades live on BloFin; absent: on paper.
  std::optional<BlofinCredentials> credentials;
  // Cluster mode: the lease tenure its exchange is built under (set by the
  // OrderRouter from its TenureSource; tenure.h). Absent: no fence.
  std::optional<Tenure> tenure;

  TradingMode mode() const {
    return credentials ? TradingMode::kLive : TradingMode::kPaper;
  }
  Decimal taker_fee() const { return taker_fee_rate.value_or(kDefaultTakerFeeRate); }
  Decimal maker_fee() const { return maker_fee_rate.value_or(kDefaultMakerFeeRate); }
};

// The epoch of `info`'s tenure, 0 without one.
inline int64_t TenureEpoch(const StrategyInfo& info) {
  return info.tenure ? info.tenure->fence.epoch : 0;
}

// Implemented by OrderRouter (server/control/order_router.h).
class StrategyTrading {
 public:
  virtual ~StrategyTrading() = default;

  // Adds a strategy or applies a change to it: builds its exchange through the
  // injected factory (live with credentials, paper without), or rebuilds it
  // when the credentials changed (new orders use the new mode; open positions
  // keep the mode they were opened in). A live strategy's exchange is
  // reconciled first; when that fails the strategy is not added and the
  // status says why.
  [[nodiscard]] virtual absl::Status UpsertStrategy(const StrategyInfo& info) = 0;

  // Forgets the strategy (its history stays in the database).
  [[nodiscard]] virtual absl::Status RemoveStrategy(absl::string_view strategy_id) = 0;

  // A stopped strategy's trade requests get FAILED_PRECONDITION.
  [[nodiscard]] virtual absl::Status SetRunning(absl::string_view strategy_id,
                                                bool running) = 0;

  // Validated trade routing to the strategy's exchange (see exchange.h).
  [[nodiscard]] virtual absl::StatusOr<OrderResult> PlaceOrder(const OrderRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<OrderResult> ClosePosition(
      absl::string_view strategy_id, const CloseRequest& request) = 0;

  // The strategy's open positions (from the database, with its exchange's mode).
  [[nodiscard]] virtual absl::StatusOr<std::vector<Position>> OpenPositions(
      absl::string_view strategy_id) = 0;

  // True when the strategy has open positions or resting orders.
  [[nodiscard]] virtual absl::StatusOr<bool> HasOpenExposure(absl::string_view strategy_id) = 0;
};

}  // namespace xctl
