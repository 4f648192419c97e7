#include "server/strategy/external.h"

namespace xctl {

absl::StatusOr<std::unique_ptr<Strategy>> ExternalStrategy::Create(const StrategyInfo& info,
                                                                   const StrategyParams& params) {
  return std::make_unique<ExternalStrategy>();
}

}  // namespace xctl
