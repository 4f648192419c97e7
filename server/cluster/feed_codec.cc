#include "server/cluster/feed_codec.h"

#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/common/symbol.h"
#include "xctl/cluster/v1/cluster.pb.h"

namespace xctl::cluster {
namespace {

namespace pb = ::xctl::cluster::v1;

constexpr size_t kMaxTextBytes = 128;
constexpr size_t kMaxExposures = 10'000;

}  // namespace

// 0..max printable ASCII bytes (1..max when `required`).
absl::Status CheckFeedText(absl::string_view text, absl::string_view field, bool required) {
  if ((required && text.empty()) || text.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be ", required ? 1 : 0, "-",
                                                   kMaxTextBytes, " bytes, got ", text.size()));
  }
  for (char c : text) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": must be printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status CheckHeader(const FeedMessageHeader& h) {
  XCTL_RETURN_IF_ERROR(CheckFeedText(h.publisher, "feed message: publisher", true));
  if (h.incarnation == 0) return absl::InvalidArgumentError("feed message: incarnation must be > 0");
  if (h.sequence == 0) return absl::InvalidArgumentError("feed message: sequence must be > 0");
  if (h.publish_time_ms < 0) {
    return absl::InvalidArgumentError("feed message: publish_time_ms must be >= 0");
  }
  if (absl::Status s = ValidateStrategyId(h.strategy_id); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("feed message: strategy_id: ", s.message()));
  }
  return absl::OkStatus();
}

void HeaderToProto(const FeedMessageHeader& h, pb::FeedHeader* out) {
  out->set_publisher(h.publisher);
  out->set_incarnation(h.incarnation);
  out->set_sequence(h.sequence);
  out->set_publish_time_ms(h.publish_time_ms);
  out->set_strategy_id(h.strategy_id);
  out->set_full_state(h.full_state);
  out->set_owner_epoch(h.owner_epoch);
}

absl::StatusOr<FeedMessageHeader> HeaderFromProto(const pb::FeedHeader& in) {
  FeedMessageHeader h{.publisher = in.publisher(), .incarnation = in.incarnation(),
                      .sequence = in.sequence(), .publish_time_ms = in.publish_time_ms(),
                      .strategy_id = in.strategy_id(), .full_state = in.full_state(),
                      .owner_epoch = in.owner_epoch()};
  XCTL_RETURN_IF_ERROR(CheckHeader(h));
  return h;
}

absl::StatusOr<Decimal> ParseDec(const std::string& text, absl::string_view field) {
  auto d = Decimal::Parse(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not a decimal: ", d.status().message()));
  }
  return *d;
}

template <typename Has>
absl::StatusOr<std::optional<Decimal>> ParseOptDec(Has has, const std::string& text,
                                                   absl::string_view field) {
  if (!has) return std::optional<Decimal>();
  XCTL_ASSIGN_OR_RETURN(Decimal d, ParseDec(text, field));
  return std::optional<Decimal>(d);
}

absl::Status CheckPosition(const PositionView& v, absl::string_view strategy_id, size_t i) {
  const Position& p = v.position;
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("position ", i, ": ", what));
  };
  if (p.id <= 0) return bad("id must be > 0");
  if (p.strategy_id != strategy_id) return bad("belongs to another strategy than the message");
  if (absl::Status s = ValidateSymbol(p.symbol); !s.ok()) return bad(s.message());
  if (p.quantity.is_negative()) return bad("negative quantity");
  if (p.open_price.is_negative() || (p.close_price && p.close_price->is_negative()) ||
      (v.mark_price && v.mark_price->is_negative())) {
    return bad("negative price");
  }
  if (p.open_time_ms < 0 || (p.close_time_ms && *p.close_time_ms < 0)) {
    return bad("negative timestamp");
  }
  XCTL_RETURN_IF_ERROR(CheckFeedText(p.exchange, "exchange", false));
  XCTL_RETURN_IF_ERROR(CheckFeedText(v.strategy_type, "strategy_type", false));
  return absl::OkStatus();
}

void PositionToProto(const PositionView& v, pb::PositionState* out) {
  const Position& p = v.position;
  out->set_id(p.id);
  out->set_symbol(p.symbol);
  out->set_side(p.side == PositionSide::kLong ? 1 : 2);
  out->set_open_time_ms(p.open_time_ms);
  if (p.close_time_ms) out->set_close_time_ms(*p.close_time_ms);
  out->set_open_price(p.open_price.ToString());
  if (p.close_price) out->set_close_price(p.close_price->ToString());
  out->set_quantity(p.quantity.ToString());
  out->set_status(p.status == PositionStatus::kOpen ? 1 : 2);
  if (p.pnl) out->set_pnl(p.pnl->ToString());
  out->set_fees(p.fees.ToString());
  out->set_mode(p.mode == TradingMode::kPaper ? 1 : 2);
  out->set_exchange(p.exchange);
  out->set_strategy_type(v.strategy_type);
  if (v.mark_price) out->set_mark_price(v.mark_price->ToString());
  if (v.unrealized_pnl) out->set_unrealized_pnl(v.unrealized_pnl->ToString());
}

absl::StatusOr<PositionView> PositionFromProto(const pb::PositionState& in,
                                               const std::string& strategy_id, size_t i) {
  const std::string where = absl::StrCat("position ", i, ": ");
  PositionView v;
  Position& p = v.position;
  p.id = in.id();
  p.strategy_id = strategy_id;
  p.symbol = in.symbol();
  if (in.side() != 1 && in.side() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(where, "side must be 1 or 2"));
  }
  p.side = in.side() == 1 ? PositionSide::kLong : PositionSide::kShort;
  if (in.status() != 1 && in.status() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(where, "status must be 1 or 2"));
  }
  p.status = in.status() == 1 ? PositionStatus::kOpen : PositionStatus::kClosed;
  if (in.mode() != 1 && in.mode() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(where, "mode must be 1 or 2"));
  }
  p.mode = in.mode() == 1 ? TradingMode::kPaper : TradingMode::kLive;
  p.open_time_ms = in.open_time_ms();
  if (in.has_close_time_ms()) p.close_time_ms = in.close_time_ms();
  XCTL_ASSIGN_OR_RETURN(p.open_price, ParseDec(in.open_price(), where + "open_price"));
  XCTL_ASSIGN_OR_RETURN(p.close_price,
                        ParseOptDec(in.has_close_price(), in.close_price(), where + "close_price"));
  XCTL_ASSIGN_OR_RETURN(p.quantity, ParseDec(in.quantity(), where + "quantity"));
  XCTL_ASSIGN_OR_RETURN(p.pnl, ParseOptDec(in.has_pnl(), in.pnl(), where + "pnl"));
  XCTL_ASSIGN_OR_RETURN(p.fees, ParseDec(in.fees(), where + "fees"));
  p.exchange = in.exchange();
  v.strategy_type = in.strategy_type();
  XCTL_ASSIGN_OR_RETURN(v.mark_price,
                        ParseOptDec(in.has_mark_price(), in.mark_price(), where + "mark_price"));
  XCTL_ASSIGN_OR_RETURN(v.unrealized_pnl, ParseOptDec(in.has_unrealized_pnl(),
                                                      in.unrealized_pnl(), where + "unrealized_pnl"));
  XCTL_RETURN_IF_ERROR(CheckPosition(v, strategy_id, i));
  return v;
}

absl::StatusOr<std::string> Serialize(const google::protobuf::MessageLite& msg) {
  std::string bytes;
  if (!msg.SerializeToString(&bytes)) return absl::InternalError("feed message: cannot serialize");
  if (bytes.size() > kMaxFeedMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat("feed message: ", bytes.size(),
                                                   " bytes, at most ", kMaxFeedMessageBytes));
  }
  return bytes;
}

absl::Status CheckSize(absl::string_view bytes) {
  if (bytes.size() > kMaxFeedMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat("feed message: ", bytes.size(),
                                                   " bytes, at most ", kMaxFeedMessageBytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> EncodePositionMessage(const PositionMessage& m) {
  XCTL_RETURN_IF_ERROR(CheckHeader(m.header));
  if (m.positions.size() > kMaxPositionsPerMessage) {
    return absl::InvalidArgumentError(absl::StrCat("feed message: ", m.positions.size(),
                                                   " positions, at most ",
                                                   kMaxPositionsPerMessage));
  }
  pb::StrategyPositions msg;
  HeaderToProto(m.header, msg.mutable_header());
  for (size_t i = 0; i < m.positions.size(); ++i) {
    XCTL_RETURN_IF_ERROR(CheckPosition(m.positions[i], m.header.strategy_id, i));
    PositionToProto(m.positions[i], msg.add_positions());
  }
  return Serialize(msg);
}

absl::StatusOr<PositionMessage> DecodePositionMessage(absl::string_view bytes) {
  XCTL_RETURN_IF_ERROR(CheckSize(bytes));
  pb::StrategyPositions msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !msg.has_header()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "feed message: not a valid xctl.cluster.v1.StrategyPositions (", bytes.size(), " bytes)"));
  }
  PositionMessage out;
  XCTL_ASSIGN_OR_RETURN(out.header, HeaderFromProto(msg.header()));
  if (static_cast<size_t>(msg.positions_size()) > kMaxPositionsPerMessage) {
    return absl::InvalidArgumentError(absl::StrCat("feed message: ", msg.positions_size(),
                                                   " positions, at most ",
                                                   kMaxPositionsPerMessage));
  }
  out.positions.reserve(msg.positions_size());
  absl::flat_hash_set<int64_t> seen;
  for (int i = 0; i < msg.positions_size(); ++i) {
    XCTL_ASSIGN_OR_RETURN(PositionView v, PositionFromProto(msg.positions(i),
                                                            out.header.strategy_id,
                                                            static_cast<size_t>(i)));
    if (!seen.insert(v.position.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("position ", i, ": id ", v.position.id, " appears twice"));
    }
    out.positions.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<std::string> EncodeKpiMessage(const KpiMessage& m) {
  XCTL_RETURN_IF_ERROR(CheckHeader(m.header));
  if (m.kpis.kind != KpiScopeKind::kStrategy || m.kpis.name != m.header.strategy_id) {
    return absl::InvalidArgumentError("feed message: KPIs must be the header strategy's");
  }
  XCTL_RETURN_IF_ERROR(CheckFeedText(m.kpis.strategy_type, "strategy_type", false));
  const KpiFigures& k = m.kpis.figures;
  if (k.open_exposure.size() > kMaxExposures) {
    return absl::InvalidArgumentError("feed message: too many exposures");
  }
  pb::StrategyKpis msg;
  HeaderToProto(m.header, msg.mutable_header());
  msg.set_strategy_type(m.kpis.strategy_type);
  msg.set_time_ms(m.kpis.time_ms);
  msg.set_starting_balance(k.starting_balance.ToString());
  msg.set_realized_pnl(k.realized_pnl.ToString());
  msg.set_unrealized_pnl(k.unrealized_pnl.ToString());
  msg.set_total_pnl(k.total_pnl.ToString());
  msg.set_fees_paid(k.fees_paid.ToString());
  msg.set_equity(k.equity.ToString());
  if (k.return_fraction) msg.set_return_fraction(k.return_fraction->ToString());
  msg.set_closed_trades(k.closed_trades);
  if (k.win_rate) msg.set_win_rate(k.win_rate->ToString());
  if (k.average_win) msg.set_average_win(k.average_win->ToString());
  if (k.average_loss) msg.set_average_loss(k.average_loss->ToString());
  if (k.largest_win) msg.set_largest_win(k.largest_win->ToString());
  if (k.largest_loss) msg.set_largest_loss(k.largest_loss->ToString());
  if (k.profit_factor) msg.set_profit_factor(k.profit_factor->ToString());
  if (k.expectancy) msg.set_expectancy(k.expectancy->ToString());
  if (k.average_holding_ms) msg.set_average_holding_ms(*k.average_holding_ms);
  msg.set_max_drawdown(k.max_drawdown.ToString());
  if (k.max_drawdown_fraction) msg.set_max_drawdown_fraction(k.max_drawdown_fraction->ToString());
  if (k.sharpe_ratio) msg.set_sharpe_ratio(k.sharpe_ratio->ToString());
  if (k.sortino_ratio) msg.set_sortino_ratio(k.sortino_ratio->ToString());
  if (k.calmar_ratio) msg.set_calmar_ratio(k.calmar_ratio->ToString());
  for (const ExposureFigure& x : k.open_exposure) {
    if (absl::Status s = ValidateSymbol(x.symbol); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("exposure: ", s.message()));
    }
    pb::ExposureState* e = msg.add_open_exposure();
    e->set_symbol(x.symbol);
    e->set_quantity(x.quantity.ToString());
    e->set_notional(x.notional.ToString());
  }
  msg.set_open_positions(k.open_positions);
  msg.set_funding(k.funding.ToString());
  msg.set_unexplained(k.unexplained.ToString());
  msg.set_liquidations(k.liquidations);
  return Serialize(msg);
}

absl::StatusOr<KpiMessage> DecodeKpiMessage(absl::string_view bytes) {
  XCTL_RETURN_IF_ERROR(CheckSize(bytes));
  pb::StrategyKpis msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !msg.has_header()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "feed message: not a valid xctl.cluster.v1.StrategyKpis (", bytes.size(), " bytes)"));
  }
  KpiMessage out;
  XCTL_ASSIGN_OR_RETURN(out.header, HeaderFromProto(msg.header()));
  KpiView& v = out.kpis;
  v.kind = KpiScopeKind::kStrategy;
  v.name = out.header.strategy_id;
  v.strategy_type = msg.strategy_type();
  XCTL_RETURN_IF_ERROR(CheckFeedText(v.strategy_type, "strategy_type", false));
  v.time_ms = msg.time_ms();
  if (v.time_ms < 0) return absl::InvalidArgumentError("kpis: time_ms must be >= 0");
  KpiFigures& k = v.figures;
  XCTL_ASSIGN_OR_RETURN(k.starting_balance, ParseDec(msg.starting_balance(), "starting_balance"));
  XCTL_ASSIGN_OR_RETURN(k.realized_pnl, ParseDec(msg.realized_pnl(), "realized_pnl"));
  XCTL_ASSIGN_OR_RETURN(k.unrealized_pnl, ParseDec(msg.unrealized_pnl(), "unrealized_pnl"));
  XCTL_ASSIGN_OR_RETURN(k.total_pnl, ParseDec(msg.total_pnl(), "total_pnl"));
  XCTL_ASSIGN_OR_RETURN(k.fees_paid, ParseDec(msg.fees_paid(), "fees_paid"));
  XCTL_ASSIGN_OR_RETURN(k.equity, ParseDec(msg.equity(), "equity"));
  XCTL_ASSIGN_OR_RETURN(k.return_fraction, ParseOptDec(msg.has_return_fraction(),
                                                       msg.return_fraction(), "return_fraction"));
  k.closed_trades = msg.closed_trades();
  if (k.closed_trades < 0) return absl::InvalidArgumentError("kpis: closed_trades must be >= 0");
  XCTL_ASSIGN_OR_RETURN(k.win_rate, ParseOptDec(msg.has_win_rate(), msg.win_rate(), "win_rate"));
  XCTL_ASSIGN_OR_RETURN(k.average_win,
                        ParseOptDec(msg.has_average_win(), msg.average_win(), "average_win"));
  XCTL_ASSIGN_OR_RETURN(k.average_loss,
                        ParseOptDec(msg.has_average_loss(), msg.average_loss(), "average_loss"));
  XCTL_ASSIGN_OR_RETURN(k.largest_win,
                        ParseOptDec(msg.has_largest_win(), msg.largest_win(), "largest_win"));
  XCTL_ASSIGN_OR_RETURN(k.largest_loss,
                        ParseOptDec(msg.has_largest_loss(), msg.largest_loss(), "largest_loss"));
  XCTL_ASSIGN_OR_RETURN(k.profit_factor, ParseOptDec(msg.has_profit_factor(),
                                                     msg.profit_factor(), "profit_factor"));
  XCTL_ASSIGN_OR_RETURN(k.expectancy,
                        ParseOptDec(msg.has_expectancy(), msg.expectancy(), "expectancy"));
  if (msg.has_average_holding_ms()) {
    if (msg.average_holding_ms() < 0) {
      return absl::InvalidArgumentError("kpis: average_holding_ms must be >= 0");
    }
    k.average_holding_ms = msg.average_holding_ms();
  }
  XCTL_ASSIGN_OR_RETURN(k.max_drawdown, ParseDec(msg.max_drawdown(), "max_drawdown"));
  XCTL_ASSIGN_OR_RETURN(k.max_drawdown_fraction,
                        ParseOptDec(msg.has_max_drawdown_fraction(), msg.max_drawdown_fraction(),
                                    "max_drawdown_fraction"));
  XCTL_ASSIGN_OR_RETURN(k.sharpe_ratio,
                        ParseOptDec(msg.has_sharpe_ratio(), msg.sharpe_ratio(), "sharpe_ratio"));
  XCTL_ASSIGN_OR_RETURN(k.sortino_ratio, ParseOptDec(msg.has_sortino_ratio(),
                                                     msg.sortino_ratio(), "sortino_ratio"));
  XCTL_ASSIGN_OR_RETURN(k.calmar_ratio,
                        ParseOptDec(msg.has_calmar_ratio(), msg.calmar_ratio(), "calmar_ratio"));
  if (static_cast<size_t>(msg.open_exposure_size()) > kMaxExposures) {
    return absl::InvalidArgumentError("kpis: too many exposures");
  }
  absl::flat_hash_set<std::string> symbols;
  for (const pb::ExposureState& e : msg.open_exposure()) {
    ExposureFigure x;
    x.symbol = e.symbol();
    if (absl::Status s = ValidateSymbol(x.symbol); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("exposure: ", s.message()));
    }
    if (!symbols.insert(x.symbol).second) {
      return absl::InvalidArgumentError(absl::StrCat("exposure: ", x.symbol, " appears twice"));
    }
    XCTL_ASSIGN_OR_RETURN(x.quantity, ParseDec(e.quantity(), "exposure quantity"));
    XCTL_ASSIGN_OR_RETURN(x.notional, ParseDec(e.notional(), "exposure notional"));
    k.open_exposure.push_back(std::move(x));
  }
  k.open_positions = msg.open_positions();
  if (k.open_positions < 0) return absl::InvalidArgumentError("kpis: open_positions must be >= 0");
  // Fields 27-29 are absent in messages of an older xctld: zero.
  if (!msg.funding().empty()) {
    XCTL_ASSIGN_OR_RETURN(k.funding, ParseDec(msg.funding(), "funding"));
  }
  if (!msg.unexplained().empty()) {
    XCTL_ASSIGN_OR_RETURN(k.unexplained, ParseDec(msg.unexplained(), "unexplained"));
  }
  k.liquidations = msg.liquidations();
  if (k.liquidations < 0) return absl::InvalidArgumentError("kpis: liquidations must be >= 0");
  return out;
}

}  // namespace xctl::cluster
