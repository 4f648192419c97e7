#include "client/cli/commands.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/cli/command_table.h"
#include "client/cli/completion.h"
#include "client/cli/table.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

ABSL_FLAG(std::string, strategy, "", "strategy id");
ABSL_FLAG(std::string, type, "", "strategy type (sma_cross, tradingview, external, ...)");
ABSL_FLAG(std::string, symbol, "", "instrument, for example BTC-USDT");
ABSL_FLAG(std::string, side, "", "buy or sell");
ABSL_FLAG(std::string, quantity, "", "contracts");
ABSL_FLAG(std::string, price, "", "limit price (makes the order a limit order)");
ABSL_FLAG(std::string, client_order_id, "", "idempotency key, 1-32 letters and digits");
ABSL_FLAG(std::string, order_id, "", "xctl order id");
ABSL_FLAG(bool, reduce_only, false, "the order may only reduce a position");
ABSL_FLAG(std::string, order_type, "",
          "market, limit, post_only, ioc or fok (default: limit with --price, else market)");
ABSL_FLAG(std::string, take_profit, "",
          "take-profit trigger price: when the last price reaches it, the position is closed");
ABSL_FLAG(std::string, take_profit_price, "",
          "limit price of the take-profit close (default: a market close)");
ABSL_FLAG(std::string, stop_loss, "",
          "stop-loss trigger price: when the last price reaches it, the position is closed");
ABSL_FLAG(std::string, stop_loss_price, "",
          "limit price of the stop-loss close (default: a market close)");
ABSL_FLAG(std::string, status, "open", "positions: open, closed or all; orders: open, filled, ..., all");
ABSL_FLAG(std::string, action, "", "signal: buy, sell or close");
ABSL_FLAG(std::string, comment, "", "signal comment (kept in the log)");
ABSL_FLAG(std::string, name, "", "strategy name");
ABSL_FLAG(std::string, pairs, "", "comma-separated instruments");
ABSL_FLAG(std::string, params, "", "strategy parameters, k=v,k=v");
ABSL_FLAG(std::string, starting_balance, "", "paper account start in USDT");
ABSL_FLAG(std::string, leverage, "", "leverage");
ABSL_FLAG(bool, start, false, "create: start the strategy at once");
ABSL_FLAG(int, limit, 50, "rows to list (1-1000)");
ABSL_FLAG(int, updates, 0, "--watch: stop after this many update messages (0: until interrupted)");

namespace xctl::cli {
namespace {

using google::protobuf::util::TimeUtil;

struct UsageError {
  std::string message;
};

// --- output helpers ---------------------------------------------------------

std::string Dec(const v1::Decimal& d) { return d.value().empty() ? "-" : d.value(); }

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  std::string s = TimeUtil::ToString(t);  // RFC 3339
  return s.substr(0, 19);
}

std::string Lower(absl::string_view enum_name, absl::string_view prefix) {
  if (absl::StartsWith(enum_name, prefix)) enum_name.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(enum_name);
}

template <typename Enum>
std::string Name(Enum value, const google::protobuf::EnumDescriptor* d, absl::string_view prefix) {
  const auto* v = d->FindValueByNumber(value);
  return v ? Lower(v->name(), prefix) : "?";
}

void PrintJson(const google::protobuf::Message& m, Context& ctx) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  std::fprintf(ctx.out, "%s\n", json.c_str());
  std::fflush(ctx.out);
}

int Fail(const grpc::Status& st, Context& ctx) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                 "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int code = st.error_code();
  std::string message = st.error_message();
  if (code == grpc::StatusCode::UNAVAILABLE && message.find("connect") != std::string::npos) {
    message += " (is xctld running? see --server)";
  }
  std::fprintf(ctx.err, "xctl: %s: %s\n", code >= 0 && code <= 16 ? kNames[code] : "ERROR",
               message.c_str());
  return kServerError;
}

void AddToken(grpc::ClientContext& c, Context& ctx) {
  if (!ctx.token.empty()) c.AddMetadata("authorization", "Bearer " + ctx.token);
}

// Every unary call: the token and the deadline.
void SetDeadline(grpc::ClientContext& c, Context& ctx) {
  AddToken(c, ctx);
  c.set_deadline(std::chrono::system_clock::now() +
                 std::chrono::milliseconds(absl::ToInt64Milliseconds(ctx.timeout)));
}

std::string Need(const std::string& value, const char* flag) {
  if (value.empty()) throw UsageError{absl::StrCat("--", flag, " is required")};
  return value;
}

std::string Arg(const std::vector<std::string>& words, size_t i, const char* what) {
  if (i >= words.size()) throw UsageError{absl::StrCat("missing ", what)};
  return words[i];
}

// --- prices -------------------------------------------------------------------

void PriceRows(const google::protobuf::RepeatedPtrField<v1::Tick>& ticks, Table& t) {
  for (const v1::Tick& k : ticks) {
    t.Add({k.pair(), Dec(k.bid()), Dec(k.ask()), Dec(k.last()), Time(k.exchange_time()),
           k.stale() ? "stale" : ""});
  }
}

int Prices(const std::vector<std::string>& words, Context& ctx) {
  auto stub = v1::PriceFeed::NewStub(ctx.channel);
  std::vector<std::string> pairs(words.begin() + 1, words.end());
  if (!ctx.watch) {
    v1::ListPricesRequest req;
    for (const auto& p : pairs) req.add_pairs(p);
    v1::ListPricesResponse resp;
    grpc::ClientContext c;
    SetDeadline(c, ctx);
    grpc::Status st = stub->ListPrices(&c, req, &resp);
    if (!st.ok()) return Fail(st, ctx);
    if (ctx.json) {
      PrintJson(resp, ctx);
      return kOk;
    }
    Table t({"PAIR", "BID", "ASK", "LAST", "TIME (UTC)", ""});
    PriceRows(resp.ticks(), t);
    t.Print(ctx.out);
    return kOk;
  }
  v1::StreamPricesRequest req;
  for (const auto& p : pairs) req.add_pairs(p);
  grpc::ClientContext c;
  AddToken(c, ctx);
  auto reader = stub->StreamPrices(&c, req);
  v1::StreamPricesResponse msg;
  const int max_updates = absl::GetFlag(FLAGS_updates);
  int updates = 0;
  while ((max_updates == 0 || updates < max_updates) && reader->Read(&msg)) {
    if (msg.has_update()) ++updates;
    if (ctx.json) {
      PrintJson(msg, ctx);
      continue;
    }
    Table t({"PAIR", "BID", "ASK", "LAST", "TIME (UTC)", ""});
    if (msg.has_snapshot()) PriceRows(msg.snapshot().ticks(), t);
    if (msg.has_update()) PriceRows(msg.update().ticks(), t);
    if (msg.has_status()) {
      std::fprintf(ctx.out, "# %s: %s\n", msg.status().code().c_str(),
                   msg.status().message().c_str());
    }
    if (!t.empty()) t.Print(ctx.out);
    std::fflush(ctx.out);
  }
  if (max_updates > 0 && updates >= max_updates) {
    c.TryCancel();
    return kOk;
  }
  grpc::Status st = reader->Finish();
  return st.ok() ? kOk : Fail(st, ctx);
}

// --- positions, orders, balance -----------------------------------------------

void PositionRows(const google::protobuf::RepeatedPtrField<v1::Position>& rows, Table& t) {
  for (const v1::Position& p : rows) {
    t.Add({p.id(), p.strategy_id(), Name(p.mode(), v1::TradingMode_descriptor(), "TRADING_MODE_"),
           p.symbol(), Name(p.side(), v1::PositionSide_descriptor(), "POSITION_SIDE_"),
           Dec(p.quantity()), Dec(p.open_price()),
           p.status() == v1::POSITION_STATUS_OPEN ? Dec(p.mark_price()) : Dec(p.close_price()),
           p.status() == v1::POSITION_STATUS_OPEN ? Dec(p.unrealized_pnl()) : Dec(p.pnl()),
           Dec(p.fees()), Name(p.status(), v1::PositionStatus_descriptor(), "POSITION_STATUS_"),
           Time(p.open_time())});
  }
}

const std::vector<std::string> kPositionHeader = {
    "ID", "STRATEGY", "MODE", "SYMBOL", "SIDE", "QTY", "OPEN", "MARK/CLOSE", "PNL", "FEES",
    "STATUS", "OPENED (UTC)"};

int Positions(Context& ctx) {
  v1::ListPositionsRequest req;
  req.set_strategy_id(absl::GetFlag(FLAGS_strategy));
  req.set_strategy_type(absl::GetFlag(FLAGS_type));
  req.set_page_size(absl::GetFlag(FLAGS_limit));
  const std::string status = absl::GetFlag(FLAGS_status);
  if (status == "open") {
    req.set_status(v1::POSITION_STATUS_OPEN);
  } else if (status == "closed") {
    req.set_status(v1::POSITION_STATUS_CLOSED);
  } else if (status != "all") {
    throw UsageError{"--status must be open, closed or all"};
  }
  v1::ListPositionsResponse resp;
  grpc::ClientContext c;
  SetDeadline(c, ctx);
  grpc::Status st = v1::ExchangeControl::NewStub(ctx.channel)->ListPositions(&c, req, &resp);
  if (!st.ok()) return Fail(st, ctx);
  if (ctx.json) {
    PrintJson(resp, ctx);
    return kOk;
  }
  Table t(kPositionHeader);
  PositionRows(resp.positions(), t);
  t.Print(ctx.out);
  return kOk;
}

int Orders(Context& ctx) {
  v1::ListOrdersRequest req;
  req.set_strategy_id(absl::GetFlag(FLAGS_strategy));
  req.set_strategy_type(absl::GetFlag(FLAGS_type));
  req.set_page_size(absl::GetFlag(FLAGS_limit));
  std::string status = absl::GetFlag(FLAGS_status);
  if (status != "all") {
    v1::OrderStatus s;
    if (!v1::OrderStatus_Parse("ORDER_STATUS_" + absl::AsciiStrToUpper(status), &s)) {
      throw UsageError{"--status must be all, open, partially_filled, filled, canceled or rejected"};
    }
    req.set_status(s);
  }
  v1::ListOrdersResponse resp;
  grpc::ClientContext c;
  SetDeadline(c, ctx);
  grpc::Status st = v1::ExchangeControl::NewStub(ctx.channel)->ListOrders(&c, req, &resp);
  if (!st.ok()) return Fail(st, ctx);
  if (ctx.json) {
    PrintJson(resp, ctx);
    return kOk;
  }
  Table t({"ID", "STRATEGY", "MODE", "SYMBOL", "SIDE", "TYPE", "QTY", "PRICE", "FILLED", "AVG",
           "FEE", "STATUS", "CLIENT ID"});
  for (const v1::Order& o : resp.orders()) {
    t.Add({o.id(), o.strategy_id(), Name(o.mode(), v1::TradingMode_descriptor(), "TRADING_MODE_"),
           o.symbol(), Name(o.side(), v1::Side_descriptor(), "SIDE_"),
           Name(o.type(), v1::OrderType_descriptor(), "ORDER_TYPE_"), Dec(o.quantity()),
           Dec(o.price()), Dec(o.filled_quantity()), Dec(o.average_price()), Dec(o.fee()),
           Name(o.status(), v1::OrderStatus_descriptor(), "ORDER_STATUS_"),
           o.client_order_id()});
  }
  t.Print(ctx.out);
  return kOk;
}

int Balance(Context& ctx) {
  v1::GetBalanceRequest req;
  req.set_strategy_id(Need(absl::GetFlag(FLAGS_strategy), "strategy"));
  v1::GetBalanceResponse resp;
  grpc::ClientContext c;
  SetDeadline(c, ctx);
  grpc::Status st = v1::ExchangeControl::NewStub(ctx.channel)->GetBalance(&c, req, &resp);
  if (!st.ok()) return Fail(st, ctx);
  if (ctx.json) {
    PrintJson(resp, ctx);
    return kOk;
  }
  const v1::Balance& b = resp.balance();
  Table t({"STRATEGY", "MODE", "BALANCE", "EQUITY", "MARGIN USED", "AVAILABLE", "START",
           "LEVERAGE"});
  t.Add({b.strategy_id(), Name(b.mode(), v1::TradingMode_descriptor(), "TRADING_MODE_"),
         Dec(b.balance()), Dec(b.equity()), Dec(b.margin_used()), Dec(b.available()),
         Dec(b.starting_balance()), Dec(b.leverage())});
  t.Print(ctx.out);
  return kOk;
}

void PrintOrderResult(const v1::Order& o, int fills, bool replayed, Context& ctx) {
  std::fprintf(ctx.out, "order %s %s: %s %s %s %s, filled %s at %s, fee %s%s\n", o.id().c_str(),
               Name(o.status(), v1::OrderStatus_descriptor(), "ORDER_STATUS_").c_str(),
               Name(o.side(), v1::Side_descriptor(), "SIDE_").c_str(),
               Dec(o.quantity()).c_str(), o.symbol().c_str(),
               Name(o.mode(), v1::TradingMode_descriptor(), "TRADING_MODE_").c_str(),
               Dec(o.filled_quantity()).c_str(), Dec(o.average_price()).c_str(),
               Dec(o.fee()).c_str(), replayed ? " (replayed: seen before)" : "");
  (void)fills;
}

// --order-type: the named type; empty: limit with a price, else market.
v1::OrderType OrderTypeFlag(const std::string& name, bool no_price) {
  if (name.empty()) return no_price ? v1::ORDER_TYPE_MARKET : v1::ORDER_TYPE_LIMIT;
  const std::pair<const char*, v1::OrderType> kTypes[] = {
      {"market", v1::ORDER_TYPE_MARKET},  {"limit", v1::ORDER_TYPE_LIMIT},
      {"post_only", v1::ORDER_TYPE_POST_ONLY}, {"ioc", v1::ORDER_TYPE_IOC},
      {"fok", v1::ORDER_TYPE_FOK}};
  for (const auto& [n, t] : kTypes) {
    if (name == n) return t;
  }
  throw UsageError{"--order-type must be market, limit, post_only, ioc or fok"};
}

// --take-profit / --stop-loss and their -price: a price without its trigger
// is a usage error.
void TriggerFlags(const std::string& trigger, const std::string& price, const std::string& leg,
                  v1::TriggerOrder* out) {
  if (trigger.empty()) {
    if (!price.empty()) throw UsageError{"--" + leg + "-price needs --" + leg};
    return;
  }
  out->mutable_trigger_price()->set_value(trigger);
  if (!price.empty()) out->mutable_order_price()->set_value(price);
}

int Order(const std::vector<std::string>& words, Context& ctx) {
  const std::string sub = Arg(words, 1, "order subcommand (place or cancel)");
  auto stub = v1::ExchangeControl::NewStub(ctx.channel);
  if (sub == "place") {
    v1::PlaceOrderRequest req;
    req.set_strategy_id(Need(absl::GetFlag(FLAGS_strategy), "strategy"));
    req.set_symbol(Need(absl::GetFlag(FLAGS_symbol), "symbol"));
    const std::string side = Need(absl::GetFlag(FLAGS_side), "side");
    if (side != "buy" && side != "sell") throw UsageError{"--side must be buy or sell"};
    req.set_side(side == "buy" ? v1::SIDE_BUY : v1::SIDE_SELL);
    req.mutable_quantity()->set_value(Need(absl::GetFlag(FLAGS_quantity), "quantity"));
    const std::string price = absl::GetFlag(FLAGS_price);
    req.set_type(OrderTypeFlag(absl::GetFlag(FLAGS_order_type), price.empty()));
    if (!price.empty()) req.mutable_price()->set_value(price);
    TriggerFlags(absl::GetFlag(FLAGS_take_profit), absl::GetFlag(FLAGS_take_profit_price),
                 "take-profit", req.mutable_take_profit());
    if (absl::GetFlag(FLAGS_take_profit).empty()) req.clear_take_profit();
    TriggerFlags(absl::GetFlag(FLAGS_stop_loss), absl::GetFlag(FLAGS_stop_loss_price),
                 "stop-loss", req.mutable_stop_loss());
    if (absl::GetFlag(FLAGS_stop_loss).empty()) req.clear_stop_loss();
    req.set_client_order_id(absl::GetFlag(FLAGS_client_order_id));
    req.set_reduce_only(absl::GetFlag(FLAGS_reduce_only));
    v1::PlaceOrderResponse resp;
    grpc::ClientContext c;
    SetDeadline(c, ctx);
    grpc::Status st = stub->PlaceOrder(&c, req, &resp);
    if (!st.ok()) return Fail(st, ctx);
    if (ctx.json) {
      PrintJson(resp, ctx);
    } else {
      PrintOrderResult(resp.order(), resp.fills_size(), resp.replayed(), ctx);
    }
    return kOk;
  }
  if (sub == "cancel") {
    v1::CancelOrderRequest req;
    req.set_strategy_id(Need(absl::GetFlag(FLAGS_strategy), "strategy"));
    req.set_order_id(absl::GetFlag(FLAGS_order_id));
    req.set_client_order_id(absl::GetFlag(FLAGS_client_order_id));
    v1::CancelOrderResponse resp;
    grpc::ClientContext c;
    SetDeadline(c, ctx);
    grpc::Status st = stub->CancelOrder(&c, req, &resp);
    if (!st.ok()) return Fail(st, ctx);
    if (ctx.json) {
      PrintJson(resp, ctx);
    } else {
      PrintOrderResult(resp.order(), 0, false, ctx);
    }
    return kOk;
  }
  throw UsageError{absl::StrCat("unknown order subcommand \"", sub, "\" (place or cancel)")};
}

int Close(Context& ctx) {
  v1::ClosePositionRequest req;
  req.set_strategy_id(Need(absl::GetFlag(FLAGS_strategy), "strategy"));
  req.set_symbol(Need(absl::GetFlag(FLAGS_symbol), "symbol"));
  if (std::string q = absl::GetFlag(FLAGS_quantity); !q.empty()) {
    req.mutable_quantity()->set_value(q);
  }
  req.set_client_order_id(absl::GetFlag(FLAGS_client_order_id));
  v1::ClosePositionResponse resp;
  grpc::ClientContext c;
  SetDeadline(c, ctx);
  grpc::Status st = v1::ExchangeControl::NewStub(ctx.channel)->ClosePosition(&c, req, &resp);
  if (!st.ok()) return Fail(st, ctx);
  if (ctx.json) {
    PrintJson(resp, ctx);
    return kOk;
  }
  PrintOrderResult(resp.order(), resp.fills_size(), false, ctx);
  Table t(kPositionHeader);
  PositionRows(resp.closed_positions(), t);
  t.Print(ctx.out);
  return kOk;
}

// --- KPIs -----------------------------------------------------------------------

std::string Scope(const v1::KpiScope& s) {
  if (!s.strategy_id().empty()) return s.strategy_id();
  if (!s.strategy_type().empty()) return "type:" + s.strategy_type();
  return "all";
}

void KpiRow(const v1::Kpis& k, Table& t) {
  std::string win = k.has_win_rate() ? k.win_rate().value() : "-";
  t.Add({Scope(k.scope()), Dec(k.equity()), Dec(k.total_pnl()), Dec(k.realized_pnl()),
         Dec(k.unrealized_pnl()), Dec(k.fees_paid()), Dec(k.funding()),
         Dec(k.unexplained()), absl::StrCat(k.closed_trades()), win,
         Dec(k.max_drawdown()), k.has_sharpe_ratio() ? k.sharpe_ratio().value() : "-",
         absl::StrCat(k.open_positions()), absl::StrCat(k.liquidations())});
}

const std::vector<std::string> kKpiHeader = {"SCOPE",   "EQUITY",      "TOTAL PNL", "REALIZED",
                                             "UNREALIZED", "FEES",     "FUNDING",
                                             "UNEXPLAINED", "TRADES",  "WIN RATE",
                                             "MAX DD",  "SHARPE",      "OPEN", "LIQUIDATED"};

int Kpis(Context& ctx) {
  auto stub = v1::ExchangeControl::NewStub(ctx.channel);
  if (!ctx.watch) {
    v1::GetKpisRequest req;
    req.set_strategy_id(absl::GetFlag(FLAGS_strategy));
    req.set_strategy_type(absl::GetFlag(FLAGS_type));
    v1::GetKpisResponse resp;
    grpc::ClientContext c;
    SetDeadline(c, ctx);
    grpc::Status st = stub->GetKpis(&c, req, &resp);
    if (!st.ok()) return Fail(st, ctx);
    if (ctx.json) {
      PrintJson(resp, ctx);
      return kOk;
    }
    Table t(kKpiHeader);
    KpiRow(resp.total(), t);
    for (const auto& k : resp.types()) {
      if (Scope(k.scope()) != Scope(resp.total().scope())) KpiRow(k, t);
    }
    for (const auto& k : resp.strategies()) {
      if (Scope(k.scope()) != Scope(resp.total().scope())) KpiRow(k, t);
    }
    t.Print(ctx.out);
    return kOk;
  }
  v1::StreamKpisRequest req;
  req.set_strategy_id(absl::GetFlag(FLAGS_strategy));
  req.set_strategy_type(absl::GetFlag(FLAGS_type));
  grpc::ClientContext c;
  AddToken(c, ctx);
  auto reader = stub->StreamKpis(&c, req);
  v1::StreamKpisResponse msg;
  const int max_updates = absl::GetFlag(FLAGS_updates);
  int updates = 0;
  while ((max_updates == 0 || updates < max_updates) && reader->Read(&msg)) {
    if (msg.has_update()) ++updates;
    if (ctx.json) {
      PrintJson(msg, ctx);
      continue;
    }
    Table t(kKpiHeader);
    for (const auto& k : msg.snapshot().kpis()) KpiRow(k, t);
    for (const auto& k : msg.update().kpis()) KpiRow(k, t);
    if (!t.empty()) {
      t.Print(ctx.out);
      std::fprintf(ctx.out, "\n");
      std::fflush(ctx.out);
    }
  }
  if (max_updates > 0 && updates >= max_updates) {
    c.TryCancel();
    return kOk;
  }
  grpc::Status st = reader->Finish();
  return st.ok() ? kOk : Fail(st, ctx);
}

// --- signals and strategies ---------------------------------------------------

int Signal(Context& ctx) {
  v1::SubmitSignalRequest req;
  req.set_strategy_id(Need(absl::GetFlag(FLAGS_strategy), "strategy"));
  req.set_action(Need(absl::GetFlag(FLAGS_action), "action"));
  req.set_symbol(Need(absl::GetFlag(FLAGS_symbol), "symbol"));
  req.set_quantity(absl::GetFlag(FLAGS_quantity));
  req.set_price(absl::GetFlag(FLAGS_price));
  req.set_secret(ctx.signal_secret);
  req.set_client_order_id(absl::GetFlag(FLAGS_client_order_id));
  req.set_comment(absl::GetFlag(FLAGS_comment));
  v1::SubmitSignalResponse resp;
  grpc::ClientContext c;
  SetDeadline(c, ctx);
  grpc::Status st = v1::StrategyManager::NewStub(ctx.channel)->SubmitSignal(&c, req, &resp);
  if (!st.ok()) return Fail(st, ctx);
  if (ctx.json) {
    PrintJson(resp, ctx);
  } else {
    PrintOrderResult(resp.order(), resp.fills_size(), resp.replayed(), ctx);
  }
  return kOk;
}

void StrategyRows(const google::protobuf::RepeatedPtrField<v1::Strategy>& list, Table& t) {
  for (const v1::Strategy& s : list) {
    t.Add({s.id(), s.type(), Name(s.mode(), v1::TradingMode_descriptor(), "TRADING_MODE_"),
           Name(s.status(), v1::StrategyStatus_descriptor(), "STRATEGY_STATUS_"),
           absl::StrJoin(s.pairs(), ","), Dec(s.starting_balance()), s.status_message()});
  }
}

const std::vector<std::string> kStrategyHeader = {"ID", "TYPE", "MODE", "STATUS", "PAIRS",
                                                  "START BALANCE", "MESSAGE"};

int PrintStrategy(const v1::Strategy& s, Context& ctx) {
  if (ctx.json) {
    PrintJson(s, ctx);
    return kOk;
  }
  google::protobuf::RepeatedPtrField<v1::Strategy> one;
  *one.Add() = s;
  Table t(kStrategyHeader);
  StrategyRows(one, t);
  t.Print(ctx.out);
  return kOk;
}

int Strategies(const std::vector<std::string>& words, Context& ctx) {
  const std::string sub = Arg(words, 1, "strategies subcommand");
  auto stub = v1::StrategyManager::NewStub(ctx.channel);
  grpc::ClientContext c;
  SetDeadline(c, ctx);
  if (sub == "list") {
    v1::ListStrategiesRequest req;
    req.set_type(absl::GetFlag(FLAGS_type));
    v1::ListStrategiesResponse resp;
    grpc::Status st = stub->ListStrategies(&c, req, &resp);
    if (!st.ok()) return Fail(st, ctx);
    if (ctx.json) {
      PrintJson(resp, ctx);
      return kOk;
    }
    Table t(kStrategyHeader);
    StrategyRows(resp.strategies(), t);
    t.Print(ctx.out);
    return kOk;
  }
  if (sub == "create") {
    v1::CreateStrategyRequest req;
    v1::Strategy* s = req.mutable_strategy();
    s->set_id(absl::GetFlag(FLAGS_strategy));
    s->set_name(absl::GetFlag(FLAGS_name));
    s->set_type(Need(absl::GetFlag(FLAGS_type), "type"));
    for (absl::string_view p :
         absl::StrSplit(Need(absl::GetFlag(FLAGS_pairs), "pairs"), ',', absl::SkipEmpty())) {
      s->add_pairs(std::string(p));
    }
    for (absl::string_view kv : absl::StrSplit(absl::GetFlag(FLAGS_params), ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> parts = absl::StrSplit(kv, absl::MaxSplits('=', 1));
      if (parts.first.empty()) throw UsageError{"--params takes k=v,k=v"};
      (*s->mutable_params())[parts.first] = parts.second;
    }
    if (auto v = absl::GetFlag(FLAGS_starting_balance); !v.empty()) {
      s->mutable_starting_balance()->set_value(v);
    }
    if (auto v = absl::GetFlag(FLAGS_leverage); !v.empty()) s->mutable_leverage()->set_value(v);
    req.set_start(absl::GetFlag(FLAGS_start));
    req.set_signal_secret(ctx.signal_secret);
    v1::CreateStrategyResponse resp;
    grpc::Status st = stub->CreateStrategy(&c, req, &resp);
    return st.ok() ? PrintStrategy(resp.strategy(), ctx) : Fail(st, ctx);
  }
  const std::string id = Arg(words, 2, "strategy id");
  if (sub == "get") {
    v1::GetStrategyRequest req;
    req.set_id(id);
    v1::GetStrategyResponse resp;
    grpc::Status st = stub->GetStrategy(&c, req, &resp);
    return st.ok() ? PrintStrategy(resp.strategy(), ctx) : Fail(st, ctx);
  }
  if (sub == "start") {
    v1::StartStrategyRequest req;
    req.set_id(id);
    v1::StartStrategyResponse resp;
    grpc::Status st = stub->StartStrategy(&c, req, &resp);
    return st.ok() ? PrintStrategy(resp.strategy(), ctx) : Fail(st, ctx);
  }
  if (sub == "stop") {
    v1::StopStrategyRequest req;
    req.set_id(id);
    v1::StopStrategyResponse resp;
    grpc::Status st = stub->StopStrategy(&c, req, &resp);
    return st.ok() ? PrintStrategy(resp.strategy(), ctx) : Fail(st, ctx);
  }
  if (sub == "delete") {
    v1::DeleteStrategyRequest req;
    req.set_id(id);
    v1::DeleteStrategyResponse resp;
    grpc::Status st = stub->DeleteStrategy(&c, req, &resp);
    if (!st.ok()) return Fail(st, ctx);
    if (!ctx.json) std::fprintf(ctx.out, "strategy %s deleted\n", id.c_str());
    return kOk;
  }
  if (sub == "set-credentials" || sub == "clear-credentials") {
    v1::UpdateStrategyRequest req;
    req.mutable_strategy()->set_id(id);
    if (sub == "set-credentials") {
      // From the environment only: a command line is visible to every user.
      const char* key = std::getenv("XCTL_API_KEY");
      const char* secret = std::getenv("XCTL_API_SECRET");
      const char* pass = std::getenv("XCTL_PASSPHRASE");
      if (!key || !secret || !pass || !*key || !*secret || !*pass) {
        throw UsageError{"set XCTL_API_KEY, XCTL_API_SECRET and XCTL_PASSPHRASE in the environment"};
      }
      req.mutable_credentials()->set_api_key(key);
      req.mutable_credentials()->set_api_secret(secret);
      req.mutable_credentials()->set_passphrase(pass);
    } else {
      req.set_clear_credentials(true);
    }
    v1::UpdateStrategyResponse resp;
    grpc::Status st = stub->UpdateStrategy(&c, req, &resp);
    return st.ok() ? PrintStrategy(resp.strategy(), ctx) : Fail(st, ctx);
  }
  throw UsageError{absl::StrCat("unknown strategies subcommand \"", sub, "\"")};
}

}  // namespace

std::string Usage() { return UsageText(); }

int Run(const std::vector<std::string>& words, Context& ctx) {
  try {
    if (words.empty()) throw UsageError{"no command given"};
    const std::string& cmd = words[0];
    if (cmd == "prices") return Prices(words, ctx);
    if (cmd == "positions") return Positions(ctx);
    if (cmd == "orders") return Orders(ctx);
    if (cmd == "kpis") return Kpis(ctx);
    if (cmd == "balance") return Balance(ctx);
    if (cmd == "order") return Order(words, ctx);
    if (cmd == "close") return Close(ctx);
    if (cmd == "signal") return Signal(ctx);
    if (cmd == "strategies") return Strategies(words, ctx);
    if (cmd == "completion") {
      const std::string shell = Arg(words, 1, "shell (bash or zsh)");
      std::optional<std::string> script = CompletionScript(shell);
      if (!script) throw UsageError{absl::StrCat("no completion for \"", shell, "\" (bash or zsh)")};
      std::fputs(script->c_str(), ctx.out);
      return kOk;
    }
    if (cmd == "help") {
      std::fputs(UsageText().c_str(), ctx.out);
      return kOk;
    }
    throw UsageError{absl::StrCat("unknown command \"", cmd, "\"")};
  } catch (const UsageError& e) {
    std::fprintf(ctx.err, "xctl: %s (see xctl help)\n", e.message.c_str());
    return kUsage;
  }
}

}  // namespace xctl::cli
