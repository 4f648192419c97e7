// The StrategyManager service as it stands before its module lands: every
// RPC answers UNIMPLEMENTED naming the missing module.
#pragma once

#include "server/api/unimplemented.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl::api {

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
