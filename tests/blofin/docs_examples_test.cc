// BloFin's own documentation as test data: every JSON response example of
// ../shared/blofin/index.md (the docs source xctl is written against) that
// belongs to an endpoint xctl reads goes through xctl's parser for it, and
// every number in every example parses. Then answers in the shapes ccxt
// recorded from the real exchange (18 fraction digits, null client order
// ids, a market order's zero price, a rejection inside a code "0" envelope),
// written out by hand here.
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/exchange/blofin/json.h"
#include "server/exchange/blofin/rest_client.h"
#include "server/price/blofin_source.h"
#include "tests/support/subprocess.h"

namespace xctl::blofin {
namespace {

using ::testing::HasSubstr;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

// The docs' examples carry "# comment" annotations that are not JSON.
std::string StripComments(const std::string& block) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < block.size(); ++i) {
    char c = block[i];
    if (c == '"' && (i == 0 || block[i - 1] != '\\')) in_string = !in_string;
    if (!in_string && c == '#') {
      while (i < block.size() && block[i] != '\n') ++i;
      out.push_back('\n');
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// heading ("GET Order Detail") -> the JSON blocks under it, in order.
std::map<std::string, std::vector<std::string>> ExamplesByHeading() {
  std::ifstream in(testing::SourcePath("../shared/blofin/index.md"));
  std::map<std::string, std::vector<std::string>> out;
  std::string line, heading, block;
  bool in_json = false;
  while (std::getline(in, line)) {
    if (in_json) {
      if (line.rfind("```", 0) == 0) {
        out[heading].push_back(StripComments(block));
        in_json = false;
      } else {
        block += line + "\n";
      }
      continue;
    }
    if (line.rfind("### ", 0) == 0) heading = line.substr(4);
    while (!heading.empty() && heading.back() == ' ') heading.pop_back();
    if (line.rfind("```json", 0) == 0) {
      in_json = true;
      block.clear();
    }
  }
  return out;
}

const std::map<std::string, std::vector<std::string>>& Examples() {
  static const auto* examples = new auto(ExamplesByHeading());
  return *examples;
}

// The response example of `heading`: the block that has "code" and "data".
rapidjson::Document Response(const std::string& heading) {
  rapidjson::Document doc;
  auto it = Examples().find(heading);
  if (it == Examples().end()) {
    ADD_FAILURE() << "index.md has no heading \"### " << heading << "\"";
    return doc;
  }
  for (const std::string& block : it->second) {
    rapidjson::Document d;
    d.Parse(block.c_str());
    if (!d.HasParseError() && d.IsObject() && d.HasMember("code") && d.HasMember("data")) {
      return d;
    }
  }
  ADD_FAILURE() << "no parsable response example under \"" << heading << "\"";
  return doc;
}

rapidjson::Document Json(const char* text) {
  rapidjson::Document d;
  d.Parse(text);
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

TEST(BlofinDocsExamples, TheDocsAreWhereCiPutsThem) {
  ASSERT_GT(Examples().size(), 30u) << "../shared/blofin/index.md not found or not parsed";
}

TEST(BlofinDocsExamples, EveryNumberInEveryExampleParses) {
  const std::regex number(R"(^-?[0-9]+(\.[0-9]+)?$)");
  int checked = 0;
  std::function<void(const rapidjson::Value&, const std::string&)> walk =
      [&](const rapidjson::Value& v, const std::string& where) {
        if (v.IsString()) {
          std::string s(v.GetString(), v.GetStringLength());
          if (std::regex_match(s, number)) {
            ++checked;
            EXPECT_TRUE(Decimal::ParseRounded(s).ok()) << where << ": " << s;
          }
        } else if (v.IsObject()) {
          for (const auto& m : v.GetObject()) walk(m.value, where);
        } else if (v.IsArray()) {
          for (const auto& e : v.GetArray()) walk(e, where);
        }
      };
  for (const auto& [heading, blocks] : Examples()) {
    for (const std::string& block : blocks) {
      rapidjson::Document d;
      d.Parse(block.c_str());
      if (!d.HasParseError()) walk(d, heading);
    }
  }
  EXPECT_GT(checked, 500);
}

TEST(BlofinDocsExamples, OrdersOfOrderDetailActiveOrdersAndHistoryParse) {
  // index.md "GET Order Detail": data is one object.
  rapidjson::Document detail = Response("GET Order Detail");
  std::vector<const rapidjson::Value*> items = Items(detail["data"]);
  ASSERT_EQ(items.size(), 1u);
  Order o = ParseOrder(*items[0]).value();
  EXPECT_EQ(o.exchange_order_id, "29531103");
  EXPECT_EQ(o.symbol, "ETH-USDT");
  EXPECT_EQ(o.type, OrderType::kLimit);
  EXPECT_EQ(o.price, D("1514.15"));
  EXPECT_EQ(o.quantity, D("1"));
  EXPECT_EQ(o.status, OrderStatus::kOpen);
  for (const char* heading : {"GET Active Orders", "GET Order History"}) {
    rapidjson::Document list = Response(heading);
    ASSERT_TRUE(list["data"].IsArray()) << heading;
    for (const auto& v : list["data"].GetArray()) {
      EXPECT_TRUE(ParseOrder(v).ok()) << heading << ": " << ParseOrder(v).status();
    }
  }
  EXPECT_EQ(ParseOrder(Response("GET Order History")["data"][0])->status, OrderStatus::kCanceled);
}

TEST(BlofinDocsExamples, FillsOfTradeHistoryParse) {
  rapidjson::Document doc = Response("GET Trade History");
  ASSERT_EQ(doc["data"].Size(), 2u);
  RemoteFill f = ParseFill(doc["data"][0]).value();
  EXPECT_EQ(f.exchange_order_id, "28697026");
  EXPECT_EQ(f.fill.exchange_fill_id, "7772187");
  EXPECT_EQ(f.fill.price, D("1587.8"));
  EXPECT_EQ(f.fill.quantity, D("2"));
  EXPECT_EQ(f.fill.fee, D("0.190536"));
  EXPECT_EQ(f.fill.time_ms, 1696853354238);
}

TEST(BlofinDocsExamples, PositionsParseWithTheirMarginModeAndSide) {
  rapidjson::Document doc = Response("GET Positions");
  ASSERT_EQ(doc["data"].Size(), 2u);
  RemotePosition eth = ParsePosition(doc["data"][0]).value();
  EXPECT_EQ(eth.margin_mode, "isolated");
  EXPECT_EQ(eth.position_side, "net");
  EXPECT_EQ(eth.position.side, PositionSide::kLong);
  EXPECT_EQ(eth.position.open_price, D("1591.8"));
  RemotePosition bch = ParsePosition(doc["data"][1]).value();
  EXPECT_EQ(bch.margin_mode, "cross");
  EXPECT_EQ(bch.position.side, PositionSide::kShort);
  EXPECT_EQ(bch.position.quantity, D("290"));
  // Hedge mode (index.md "GET Positions": long/short, "positions is positive").
  RemotePosition hedge = ParsePosition(Json(R"({"instId":"BTC-USDT","marginMode":"cross",
      "positionSide":"short","positions":"3","averagePrice":"64000.1"})")).value();
  EXPECT_EQ(hedge.position.side, PositionSide::kShort);
  EXPECT_EQ(hedge.position.quantity, D("3"));
  EXPECT_FALSE(ParsePosition(Json(R"({"instId":"BTC-USDT","positionSide":"long",
      "positions":"-3","averagePrice":"1"})")).ok());
}

TEST(BlofinDocsExamples, TheDocumentedBalanceParsesRoundedToNinePlaces) {
  rapidjson::Document doc = Response("GET Futures Account Balance");
  Account a = ParseBalance(doc["data"]).value();
  // "10013119.885958415234430699" and "15805.149672632597427761".
  EXPECT_EQ(a.balance, D("10013119.885958415"));
  EXPECT_EQ(a.margin_used, D("15805.149672633"));
}

TEST(BlofinDocsExamples, ModesInstrumentsTickersAndOrderResultsParse) {
  EXPECT_EQ(ParsePositionMode(Response("GET Position Mode")["data"]).value(), "net_mode");
  EXPECT_EQ(ParseMarginMode(Response("GET Margin Mode")["data"]).value(), "isolated");
  rapidjson::Document instruments = Response("GET Instruments");
  Instrument btc = ParseInstrument(instruments["data"][0]).value();
  EXPECT_EQ(btc.contract_value, D("0.001"));
  EXPECT_EQ(btc.lot_size, D("0.1"));
  rapidjson::Document placed = Response("Place Order");
  std::vector<const rapidjson::Value*> results = Items(placed["data"]);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(ItemStatus(*results[0]).ok());
  rapidjson::Document cancelled = Response("Cancel Order");
  ASSERT_EQ(Items(cancelled["data"]).size(), 1u);  // one object, not a list
  EXPECT_TRUE(ItemStatus(*Items(cancelled["data"])[0]).ok());

  std::string tickers;
  auto it = Examples().find("GET Tickers");
  ASSERT_NE(it, Examples().end());
  auto ticks = ParseBlofinTickers(it->second.back(), {"BTC-USDT"}).value();
  ASSERT_EQ(ticks.size(), 1u);
  EXPECT_EQ(ticks[0].last, D("27187"));
}

// Shapes ccxt recorded from BloFin (ccxt's ts/src/test/static/response/
// blofin.json), retyped here with other values.
TEST(BlofinRecordedShapes, EighteenDigitBalancesAndNullsParse) {
  Account a = ParseBalance(Json(R"({"ts":"1707224258236","totalEquity":"61.268633591516234455",
      "details":[{"currency":"USDT","equity":"61.338743775651804468",
      "balance":"61.338743775651804468","available":"61.338743775651804459",
      "frozen":"0.000000000000000009","orderFrozen":"0.000000000000000009","bonus":"0"}]})"))
                  .value();
  EXPECT_EQ(a.balance, D("61.338743776"));
  EXPECT_TRUE(a.margin_used.is_zero());
  Order market = ParseOrder(Json(R"({"orderId":"2075628533","clientOrderId":null,
      "instId":"LTC-USDT","marginMode":"cross","positionSide":"net","side":"buy",
      "orderType":"market","price":"0.000000000000000000","size":"1.000000000000000000",
      "reduceOnly":"true","leverage":"3","state":"filled","filledSize":"1.000000000000000000",
      "pnl":"-0.050000000000000000","averagePrice":"68.110000000000000000",
      "fee":"0.040866000000000000","createTime":"1706891359010","updateTime":"1706891359098",
      "tpTriggerPrice":null,"cancelSourceReason":null})"))
                     .value();
  EXPECT_FALSE(market.price.has_value());
  EXPECT_EQ(market.client_order_id, "");
  EXPECT_EQ(market.average_price, D("68.11"));
  EXPECT_EQ(market.fee, D("0.040866"));
  Order partly = ParseOrder(Json(R"({"orderId":"7","clientOrderId":"a1","instId":"BTC-USDT",
      "side":"sell","orderType":"ioc","price":"64000.100000000000000000","size":"2",
      "state":"partially_canceled","filledSize":"0.5","averagePrice":"64000.1",
      "fee":"-0.001234567890123456"})"))
                     .value();
  EXPECT_EQ(partly.status, OrderStatus::kCanceled);
  EXPECT_EQ(partly.filled_quantity, D("0.5"));
  EXPECT_EQ(partly.fee, D("-0.001234568"));  // a maker rebate keeps its sign
  Position p = ParsePosition(Json(R"({"positionId":"644159","instId":"LTC-USDT",
      "marginMode":"cross","positionSide":"net","positions":"1","averagePrice":"67.85",
      "markPrice":"67.83143340000001","liquidationPrice":"","unrealizedPnl":"-0.01856659999999"})"))
                   ->position;
  EXPECT_EQ(p.quantity, D("1"));
}

TEST(BlofinRecordedShapes, ARejectionInsideACodeZeroEnvelopeIsARefusal) {
  rapidjson::Document doc = Json(R"({"code":"0","msg":"success","data":[{"orderId":null,
      "clientOrderId":"x1","msg":"Order failed. Insufficient USDT margin in account",
      "code":"103003"}]})");
  std::vector<const rapidjson::Value*> items = Items(doc["data"]);
  ASSERT_EQ(items.size(), 1u);
  absl::Status s = ItemStatus(*items[0]);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("BloFin 103003: Order failed. Insufficient USDT margin"));
  EXPECT_EQ(BlofinCode(s), "103003");
  EXPECT_FALSE(IsUncertain(s));
}

// errors.md, code by code: what each becomes, and whether an order request
// that got it may still have been executed.
TEST(BlofinErrorCodes, EachCodeOfErrorsMdMapsToAStatusAPersonCanActOn) {
  struct Case {
    const char* code;
    absl::StatusCode status;
    bool uncertain;
    const char* hint;
  };
  const Case cases[] = {
      {"102002", absl::StatusCode::kAlreadyExists, false, ""},
      {"150003", absl::StatusCode::kAlreadyExists, false, ""},
      {"102068", absl::StatusCode::kFailedPrecondition, false, ""},
      {"102089", absl::StatusCode::kFailedPrecondition, false, "one-way (net) mode"},
      {"103003", absl::StatusCode::kFailedPrecondition, false, ""},
      {"150004", absl::StatusCode::kFailedPrecondition, false, ""},
      {"102022", absl::StatusCode::kFailedPrecondition, false, ""},
      {"429", absl::StatusCode::kResourceExhausted, false, ""},
      {"152405", absl::StatusCode::kFailedPrecondition, false, "clock"},
      {"152410", absl::StatusCode::kFailedPrecondition, false, "clock"},
      {"152407", absl::StatusCode::kFailedPrecondition, true, "reached BloFin twice"},
      {"152409", absl::StatusCode::kFailedPrecondition, false, "API key, secret and passphrase"},
      {"152408", absl::StatusCode::kFailedPrecondition, false, "passphrase"},
      {"152406", absl::StatusCode::kFailedPrecondition, false, "IP address"},
      {"152404", absl::StatusCode::kFailedPrecondition, false, "TRADE permission"},
      {"152002", absl::StatusCode::kInvalidArgument, false, ""},
      {"152014", absl::StatusCode::kInvalidArgument, false, ""},
      {"102014", absl::StatusCode::kInvalidArgument, false, ""},
      {"102015", absl::StatusCode::kInvalidArgument, false, ""},
      {"500", absl::StatusCode::kUnavailable, true, ""},
      {"103013", absl::StatusCode::kUnavailable, true, ""},
      {"999999", absl::StatusCode::kFailedPrecondition, true, ""},  // unknown: assume the worst
  };
  for (const Case& c : cases) {
    absl::Status s = CodeStatus(c.code, "text");
    EXPECT_EQ(s.code(), c.status) << c.code;
    EXPECT_EQ(BlofinCode(s), c.code);
    EXPECT_EQ(IsUncertain(s), c.uncertain) << c.code;
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("BloFin ", c.code, ": text")));
    EXPECT_THAT(s.message(), HasSubstr(c.hint)) << c.code;
  }
  EXPECT_TRUE(CodeStatus("0", "").ok());
  EXPECT_TRUE(IsUncertain(absl::UnavailableError("timeout")));
  EXPECT_FALSE(IsUncertain(absl::ResourceExhaustedError("budget")));
}

}  // namespace
}  // namespace xctl::blofin
