// Conversions of exchange control's views (positions with marks, KPI
// figures) to the xctl.v1 messages.
#pragma once

#include "server/control/control_feed.h"
#include "xctl/v1/exchange_control.pb.h"

namespace xctl::api {

// The stored row plus mark, unrealized PnL and strategy type.
void ToProto(const PositionView& view, v1::Position* out);
// Scope, figures (undefined ratios unset), exposure and update time.
void ToProto(const KpiView& view, v1::Kpis* out);

}  // namespace xctl::api
