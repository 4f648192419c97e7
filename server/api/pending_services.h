// ExchangeControl and StrategyManager services as they stand before their
// modules land: every RPC answers UNIMPLEMENTED naming the missing module.
// Each later module replaces its service here with the real one.
#pragma once

#include "server/api/unimplemented.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl::api {

class PendingExchangeControlService final
    : public v1::ExchangeControl::CallbackService {
 public:
  XCTL_UNARY_NOT_YET(ExchangeControl, PlaceOrder, "exchange control")
  XCTL_UNARY_NOT_YET(ExchangeControl, CancelOrder, "exchange control")
  XCTL_UNARY_NOT_YET(ExchangeControl, ClosePosition, "exchange control")
  XCTL_UNARY_NOT_YET(ExchangeControl, ListPositions, "exchange control")
  XCTL_UNARY_NOT_YET(ExchangeControl, ListOrders, "exchange control")
  XCTL_UNARY_NOT_YET(ExchangeControl, GetBalance, "exchange control")
  XCTL_UNARY_NOT_YET(ExchangeControl, ListInstruments, "exchange control")
  XCTL_UNARY_NOT_YET(ExchangeControl, GetKpis, "exchange control (KPIs)")
  XCTL_UNARY_NOT_YET(ExchangeControl, ReconcileStrategy, "exchange control")
  XCTL_STREAM_NOT_YET(ExchangeControl, StreamPositions, "exchange control")
  XCTL_STREAM_NOT_YET(ExchangeControl, StreamKpis, "exchange control (KPIs)")
};

class PendingStrategyManagerService final
    : public v1::StrategyManager::CallbackService {
 public:
  XCTL_UNARY_NOT_YET(StrategyManager, CreateStrategy, "strategy manager")
  XCTL_UNARY_NOT_YET(StrategyManager, UpdateStrategy, "strategy manager")
  XCTL_UNARY_NOT_YET(StrategyManager, DeleteStrategy, "strategy manager")
  XCTL_UNARY_NOT_YET(StrategyManager, ListStrategies, "strategy manager")
  XCTL_UNARY_NOT_YET(StrategyManager, GetStrategy, "strategy manager")
  XCTL_UNARY_NOT_YET(StrategyManager, StartStrategy, "strategy manager")
  XCTL_UNARY_NOT_YET(StrategyManager, StopStrategy, "strategy manager")
  XCTL_UNARY_NOT_YET(StrategyManager, SubmitSignal, "strategy manager")
};

}  // namespace xctl::api
