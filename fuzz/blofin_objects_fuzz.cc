// Fuzzes BloFin's JSON objects (server/exchange/blofin/json.h): ParseOrder,
// ParseFill, ParsePosition, ParseBalance, ParseInstrument, ParseSettledFunding
// and ParsePositionTier.
//
// Input: a JSON text, parsed with rapidjson as the REST client does
// (iteratively). Each
// parser runs on the document, on its "data" member and on every element of
// "data" (or of the document when it is an array): the shapes
// {"code":"0","data":[{...}]}, {"code":"0","data":{...}} and bare objects.
//
// Invariants: errors are UNAVAILABLE; ids and instId are non-empty; sizes,
// prices and fees are never negative; instruments have contractValue,
// lotSize, tickSize, maxLeverage > 0 and minSize >= 0; the rest as checked
// below; every Decimal round-trips.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "rapidjson/document.h"
#include "server/exchange/blofin/json.h"

using xctl::Decimal;
using xctl_fuzz::CheckRoundTrip;
using xctl_fuzz::Q;
using xctl_fuzz::Units;

namespace {

void CheckError(const absl::Status& s, const char* what) {
  FUZZ_CHECK(s.code() == absl::StatusCode::kUnavailable,
             std::string(what) + ": " + s.ToString());
  FUZZ_CHECK(!s.message().empty(), std::string(what) + ": empty error message");
}

// Sizes, prices and fees from BloFin are never negative; xctl's ledger and
// checks assume so.
void CheckNotNegative(Decimal d, const std::string& what) {
  FUZZ_CHECK(!d.is_negative(), what + " is negative: " + Units(d));
}

void CheckId(const std::string& id, const char* what) {
  FUZZ_CHECK(!id.empty(), std::string(what) + " is empty");
}

void FuzzOrder(const rapidjson::Value& v) {
  auto o = xctl::blofin::ParseOrder(v);
  if (!o.ok()) return CheckError(o.status(), "ParseOrder");
  CheckId(o->exchange_order_id, "order orderId");
  CheckId(o->symbol, "order instId");
  FUZZ_CHECK(o->mode == xctl::TradingMode::kLive, "order mode not live");
  FUZZ_CHECK(o->id == 0 && o->strategy_id.empty(), "order id/strategy_id set by the parser");
  FUZZ_CHECK(o->price.has_value() == (o->type == xctl::OrderType::kLimit),
             "limit price present iff limit order");
  CheckNotNegative(o->quantity, "order size");
  CheckNotNegative(o->filled_quantity, "order filledSize");
  CheckNotNegative(o->average_price, "order averagePrice");
  if (o->price) {
    CheckNotNegative(*o->price, "order price");
    CheckRoundTrip(*o->price, "order price");
  }
  CheckRoundTrip(o->quantity, "order size");
  CheckRoundTrip(o->filled_quantity, "order filledSize");
  CheckRoundTrip(o->fee, "order fee");
  CheckRoundTrip(o->average_price, "order averagePrice");
}

void FuzzFill(const rapidjson::Value& v) {
  auto f = xctl::blofin::ParseFill(v);
  if (!f.ok()) return CheckError(f.status(), "ParseFill");
  CheckId(f->exchange_order_id, "fill orderId");
  CheckId(f->fill.exchange_fill_id, "fill tradeId");
  CheckId(f->fill.symbol, "fill instId");
  FUZZ_CHECK(f->fill.mode == xctl::TradingMode::kLive, "fill mode not live");
  CheckNotNegative(f->fill.price, "fill price");
  CheckNotNegative(f->fill.quantity, "fill size");
  FUZZ_CHECK(f->fill.quantity.is_positive(), "fill size not positive");
  CheckRoundTrip(f->fill.price, "fill price");
  CheckRoundTrip(f->fill.quantity, "fill size");
  CheckRoundTrip(f->fill.fee, "fill fee");
}

void FuzzPosition(const rapidjson::Value& v) {
  auto r = xctl::blofin::ParsePosition(v);
  if (!r.ok()) return CheckError(r.status(), "ParsePosition");
  const xctl::Position* p = &r->position;
  FUZZ_CHECK(p->exchange == "blofin" && p->mode == xctl::TradingMode::kLive,
             "position exchange/mode");
  CheckId(p->symbol, "position instId");
  FUZZ_CHECK(!p->quantity.is_negative(), "position quantity negative (it is |positions|)");
  // Net: the side is the sign of "positions" (which parsed, or the call
  // failed); long/short: the side named, "positions" not negative.
  auto it = v.FindMember("positions");
  std::string text(it->value.GetString(), it->value.GetStringLength());
  bool negative = !text.empty() && Decimal::Parse(text)->is_negative();
  if (r->position_side == "net") {
    FUZZ_CHECK((p->side == xctl::PositionSide::kShort) == negative,
               "position side does not follow the sign of " + Q(text));
  } else {
    FUZZ_CHECK(!negative, "a long/short position with negative positions parsed");
    FUZZ_CHECK((p->side == xctl::PositionSide::kShort) == (r->position_side == "short"),
               "position side does not follow positionSide");
  }
  CheckNotNegative(p->open_price, "position averagePrice");
  CheckRoundTrip(p->quantity, "position size");
  CheckRoundTrip(p->open_price, "position averagePrice");
}

void FuzzBalance(const rapidjson::Value& v) {
  auto a = xctl::blofin::ParseBalance(v);
  if (!a.ok()) return CheckError(a.status(), "ParseBalance");
  CheckRoundTrip(a->balance, "balance");
  CheckRoundTrip(a->margin_used, "balance frozen");
}

void FuzzInstrument(const rapidjson::Value& v) {
  auto i = xctl::blofin::ParseInstrument(v);
  if (!i.ok()) return CheckError(i.status(), "ParseInstrument");
  // What the instrument catalog divides by and rounds to.
  FUZZ_CHECK(i->contract_value.is_positive(), "contractValue " + Units(i->contract_value));
  FUZZ_CHECK(i->lot_size.is_positive(), "lotSize " + Units(i->lot_size));
  FUZZ_CHECK(i->tick_size.is_positive(), "tickSize " + Units(i->tick_size));
  FUZZ_CHECK(!i->min_size.is_negative(), "minSize " + Units(i->min_size));
  FUZZ_CHECK(i->max_leverage.is_positive(), "maxLeverage " + Units(i->max_leverage));
  for (Decimal d : {i->contract_value, i->lot_size, i->min_size, i->tick_size, i->max_leverage}) {
    CheckRoundTrip(d, "instrument");
  }
}

void FuzzFunding(const rapidjson::Value& v) {
  auto f = xctl::blofin::ParseSettledFunding(v);
  if (!f.ok()) return CheckError(f.status(), "ParseSettledFunding");
  FUZZ_CHECK(f->time_ms > 0, "fundingTime " + std::to_string(f->time_ms));
  CheckRoundTrip(f->rate, "fundingRate");
}

void FuzzTier(const rapidjson::Value& v) {
  auto t = xctl::blofin::ParsePositionTier(v);
  if (!t.ok()) return CheckError(t.status(), "ParsePositionTier");
  FUZZ_CHECK(t->min_size <= t->max_size, "tier minSize above maxSize");
  FUZZ_CHECK(!t->maintenance_margin_rate.is_negative() &&
                 t->maintenance_margin_rate < Decimal::FromInt(1),
             "maintenanceMarginRate " + Units(t->maintenance_margin_rate));
  CheckRoundTrip(t->maintenance_margin_rate, "maintenanceMarginRate");
}

void FuzzAll(const rapidjson::Value& v) {
  FuzzFunding(v);
  FuzzTier(v);
  FuzzOrder(v);
  FuzzFill(v);
  FuzzPosition(v);
  FuzzBalance(v);
  FuzzInstrument(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rapidjson::Document doc;  // as RestClient::Send parses a body
  doc.Parse<rapidjson::kParseIterativeFlag>(reinterpret_cast<const char*>(data), size);
  if (doc.HasParseError()) return 0;
  FuzzAll(doc);
  const rapidjson::Value* list = &doc;
  if (doc.IsObject()) {
    auto it = doc.FindMember("data");
    if (it == doc.MemberEnd()) return 0;
    FuzzAll(it->value);
    list = &it->value;
  }
  if (list->IsArray()) {
    for (const auto& v : list->GetArray()) FuzzAll(v);
  }
  return 0;
}
