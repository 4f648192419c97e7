// The private WebSocket's messages (private_ws_messages.h): the login
// request signed as index.md "WebSocket Authentication" > "Signature
// Generation" says (vector from the docs' Python example, run with Python's
// hmac), and the docs' push examples ("WS Order Channel", "WS Positions
// Channel", "WS Account Channel") through the parser.
#include "server/exchange/blofin/private_ws_messages.h"

#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace xctl::blofin {
namespace {

TEST(PrivateWsMessages, LoginIsSignedOverPathMethodTimestampNonce) {
  const std::string login = WsLoginRequest({Secret("key1"), Secret("s3cr3t"), Secret("phrase")},
                                           1597026383085, "abc123");
  rapidjson::Document doc;
  doc.Parse(login.c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["op"].GetString(), "login");
  const auto& arg = doc["args"][0];
  EXPECT_STREQ(arg["apiKey"].GetString(), "key1");
  EXPECT_STREQ(arg["passphrase"].GetString(), "phrase");
  EXPECT_STREQ(arg["timestamp"].GetString(), "1597026383085");
  EXPECT_STREQ(arg["nonce"].GetString(), "abc123");
  // base64(hex(HMAC-SHA256("s3cr3t", "/users/self/verifyGET1597026383085abc123"))).
  EXPECT_STREQ(arg["sign"].GetString(),
               "ZjFmZTMxMTMxNWZkNjUxOTYwMzBkNTY1MGZhMzIxMzkxOTFmNjUyYWU4NTk0NmVlODZmMDZlN2ExMjY5"
               "NDIwNA==");
}

TEST(PrivateWsMessages, SubscribesTheThreeChannelsWithoutInstId) {
  EXPECT_EQ(WsPrivateSubscribeRequest(),
            R"({"op":"subscribe","args":[{"channel":"orders"},{"channel":"positions"},)"
            R"({"channel":"account"}]})");
}

TEST(PrivateWsMessages, LoginAnswersAndAcks) {
  auto ok = ParseWsPrivateMessage(R"({"event":"login","code":"0","msg":""})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->kind, WsPrivateMessage::Kind::kLogin);
  EXPECT_EQ(ok->code, "0");
  auto refused = ParseWsPrivateMessage(R"({"event":"error","code":"60009","msg":"Login failed."})");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->kind, WsPrivateMessage::Kind::kError);
  EXPECT_EQ(refused->code, "60009");
  auto ack = ParseWsPrivateMessage(R"({"event":"subscribe","arg":{"channel":"positions"}})");
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->kind, WsPrivateMessage::Kind::kSubscribed);
  EXPECT_EQ(ack->channel, "positions");
  EXPECT_EQ(ParseWsPrivateMessage("pong")->kind, WsPrivateMessage::Kind::kPong);
}

// "WS Order Channel" > "Push Data Example" (clientOrderId null, averagePrice 0).
TEST(PrivateWsMessages, OrdersPushOfTheDocs) {
  auto m = ParseWsPrivateMessage(R"({"action":"snapshot","arg":{"channel":"orders"},"data":[{
    "instType":"SWAP","instId":"BTC-USDT","orderId":"28334314","clientOrderId":null,
    "price":"28000.000000000000000000","size":"10","orderType":"limit","side":"sell",
    "positionSide":"net","marginMode":"cross","filledSize":"0",
    "filledAmount":"0.000000000000000000","averagePrice":"0.000000000000000000","state":"live",
    "leverage":"2","tpTriggerPrice":"27000.000000000000000000","tpTriggerPriceType":"last",
    "tpOrderPrice":"-1","slTriggerPrice":null,"slTriggerPriceType":null,"slOrderPrice":null,
    "fee":"0.000000000000000000","pnl":"0.000000000000000000","cancelSource":"",
    "orderCategory":"pre_tp_sl","createTime":"1696760245931","updateTime":"1696760245973",
    "reduceOnly":"false","brokerId":""}]})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->kind, WsPrivateMessage::Kind::kOrders);
  ASSERT_EQ(m->orders.size(), 1u);
  EXPECT_EQ(m->orders[0].exchange_order_id, "28334314");
  EXPECT_EQ(m->orders[0].client_order_id, "");
  EXPECT_EQ(m->orders[0].status, OrderStatus::kOpen);
  EXPECT_EQ(m->orders[0].quantity.ToString(), "10");
}

// "WS Positions Channel" > "Push Data Example".
TEST(PrivateWsMessages, PositionsPushOfTheDocs) {
  auto m = ParseWsPrivateMessage(R"({"arg":{"channel":"positions"},"data":[{
    "instType":"SWAP","instId":"BNB-USDT","marginMode":"cross","positionId":"8138",
    "positionSide":"net","positions":"-100","availablePositions":"-100","averagePrice":"130.06",
    "unrealizedPnl":"-77.1","leverage":"3","markPrice":"207.16","createTime":"1695795726481",
    "updateTime":"1695795726484"}]})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->kind, WsPrivateMessage::Kind::kPositions);
  EXPECT_EQ(m->positions[0].position.side, PositionSide::kShort);
  EXPECT_EQ(m->positions[0].position.quantity.ToString(), "100");
}

// "WS Account Channel" > "Push Data Example" (without its trailing comma).
TEST(PrivateWsMessages, AccountPushOfTheDocs) {
  auto m = ParseWsPrivateMessage(R"({"arg":{"channel":"account"},"data":{"ts":"1597026383085",
    "totalEquity":"41624.32","isolatedEquity":"3624.32","details":[{"currency":"USDT",
    "equity":"1","balance":"1","ts":"1617279471503","isolatedEquity":"0","available":"0",
    "frozen":"0","orderFrozen":"0","unrealizedPnl":"0"}]}})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->kind, WsPrivateMessage::Kind::kAccount);
  EXPECT_EQ(m->account.balance.ToString(), "1");
  EXPECT_EQ(m->account.update_time_ms, 1597026383085);
}

TEST(PrivateWsMessages, MalformedPushesAreRejectedWhole) {
  for (const char* text : {"nope", R"({"arg":{"channel":"orders"},"data":[{}]})",
                           R"({"arg":{"channel":"account"},"data":{}})",
                           R"({"arg":{"channel":"other"},"data":[]})", R"({"data":[]})"}) {
    EXPECT_EQ(ParseWsPrivateMessage(text).status().code(), absl::StatusCode::kInvalidArgument)
        << text;
  }
}

}  // namespace
}  // namespace xctl::blofin
