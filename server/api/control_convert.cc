#include "server/api/control_convert.h"

#include "google/protobuf/util/time_util.h"
#include "server/api/convert.h"
#include "server/api/trading_convert.h"

namespace xctl::api {

void ToProto(const PositionView& view, v1::Position* out) {
  ToProto(view.position, out);
  out->set_strategy_type(view.strategy_type);
  if (view.mark_price) ToProto(*view.mark_price, out->mutable_mark_price());
  if (view.unrealized_pnl) ToProto(*view.unrealized_pnl, out->mutable_unrealized_pnl());
}

void ToProto(const KpiView& view, v1::Kpis* out) {
  switch (view.kind) {
    case KpiScopeKind::kStrategy: out->mutable_scope()->set_strategy_id(view.name); break;
    case KpiScopeKind::kType: out->mutable_scope()->set_strategy_type(view.name); break;
    case KpiScopeKind::kAll: out->mutable_scope()->set_all(true); break;
  }
  const KpiFigures& k = view.figures;
  ToProto(k.realized_pnl, out->mutable_realized_pnl());
  ToProto(k.unrealized_pnl, out->mutable_unrealized_pnl());
  ToProto(k.total_pnl, out->mutable_total_pnl());
  ToProto(k.fees_paid, out->mutable_fees_paid());
  ToProto(k.equity, out->mutable_equity());
  ToProto(k.starting_balance, out->mutable_starting_balance());
  if (k.return_fraction) ToProto(*k.return_fraction, out->mutable_return_fraction());
  out->set_closed_trades(k.closed_trades);
  if (k.win_rate) ToProto(*k.win_rate, out->mutable_win_rate());
  if (k.average_win) ToProto(*k.average_win, out->mutable_average_win());
  if (k.average_loss) ToProto(*k.average_loss, out->mutable_average_loss());
  if (k.largest_win) ToProto(*k.largest_win, out->mutable_largest_win());
  if (k.largest_loss) ToProto(*k.largest_loss, out->mutable_largest_loss());
  if (k.profit_factor) ToProto(*k.profit_factor, out->mutable_profit_factor());
  if (k.expectancy) ToProto(*k.expectancy, out->mutable_expectancy());
  if (k.average_holding_ms) {
    *out->mutable_average_holding_time() =
        google::protobuf::util::TimeUtil::MillisecondsToDuration(*k.average_holding_ms);
  }
  ToProto(k.max_drawdown, out->mutable_max_drawdown());
  if (k.max_drawdown_fraction) ToProto(*k.max_drawdown_fraction, out->mutable_max_drawdown_fraction());
  if (k.sharpe_ratio) ToProto(*k.sharpe_ratio, out->mutable_sharpe_ratio());
  if (k.sortino_ratio) ToProto(*k.sortino_ratio, out->mutable_sortino_ratio());
  if (k.calmar_ratio) ToProto(*k.calmar_ratio, out->mutable_calmar_ratio());
  for (const ExposureFigure& x : k.open_exposure) {
    v1::Exposure* e = out->add_open_exposure();
    e->set_symbol(x.symbol);
    ToProto(x.quantity, e->mutable_quantity());
    ToProto(x.notional, e->mutable_notional());
  }
  out->set_open_positions(k.open_positions);
  ToProtoTime(view.time_ms, out->mutable_update_time());
  ToProto(k.funding, out->mutable_funding());
  ToProto(k.unexplained, out->mutable_unexplained());
  out->set_liquidations(k.liquidations);
}

}  // namespace xctl::api
