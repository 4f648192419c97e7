#include "server/exchange/blofin/private_ws_messages.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/signer.h"

namespace xctl::blofin {
namespace {

absl::Status Malformed(absl::string_view reason, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(reason, ": ", detail));
}

std::string StrMember(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

absl::StatusOr<WsPrivateMessage> ParsePush(const std::string& channel,
                                           const rapidjson::Value& data) {
  WsPrivateMessage m;
  if (channel == "account") {
    m.kind = WsPrivateMessage::Kind::kAccount;
    auto account = ParseBalance(data);
    if (!account.ok()) return Malformed("bad_account", account.status().message());
    m.account = *std::move(account);
    int64_t ts = 0;  // "WS Account Channel": data.ts, the update time
    if (absl::SimpleAtoi(StrMember(data, "ts"), &ts)) m.account.update_time_ms = ts;
    return m;
  }
  if (!data.IsArray()) return Malformed("unknown_message", "data is not an array");
  // Every entry through `parse` into `out`, or the push rejected whole.
  auto each = [&](auto parse, auto* out, absl::string_view reason) -> absl::Status {
    for (const auto& item : data.GetArray()) {
      auto parsed = parse(item);
      if (!parsed.ok()) return Malformed(reason, parsed.status().message());
      out->push_back(*std::move(parsed));
    }
    return absl::OkStatus();
  };
  if (channel == "orders") {
    m.kind = WsPrivateMessage::Kind::kOrders;
    XCTL_RETURN_IF_ERROR(each(ParseOrder, &m.orders, "bad_order"));
    return m;
  }
  if (channel == "positions") {
    m.kind = WsPrivateMessage::Kind::kPositions;
    XCTL_RETURN_IF_ERROR(each(ParsePosition, &m.positions, "bad_position"));
    return m;
  }
  return Malformed("unknown_message", absl::StrCat("channel ", channel));
}

}  // namespace

std::string WsLoginRequest(const BlofinCredentials& credentials, int64_t timestamp_ms,
                           absl::string_view nonce) {
  const std::string timestamp = absl::StrCat(timestamp_ms);
  // index.md, "WebSocket Authentication" > "Signature Generation": path +
  // method + timestamp + nonce, no body.
  const std::string sign =
      Sign(credentials.api_secret.value(), absl::StrCat(kWsLoginPath, "GET", timestamp, nonce));
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("op");
  w.String("login");
  w.Key("args");
  w.StartArray();
  w.StartObject();
  w.Key("apiKey");
  w.String(credentials.api_key.value().c_str());
  w.Key("passphrase");
  w.String(credentials.passphrase.value().c_str());
  w.Key("timestamp");
  w.String(timestamp.c_str());
  w.Key("sign");
  w.String(sign.c_str());
  w.Key("nonce");
  w.String(nonce.data(), static_cast<rapidjson::SizeType>(nonce.size()));
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string WsPrivateSubscribeRequest() {
  std::string args;
  for (const char* channel : kWsPrivateChannels) {
    absl::StrAppend(&args, args.empty() ? "" : ",", "{\"channel\":\"", channel, "\"}");
  }
  return absl::StrCat("{\"op\":\"subscribe\",\"args\":[", args, "]}");
}

absl::StatusOr<WsPrivateMessage> ParseWsPrivateMessage(absl::string_view text) {
  if (text == "pong") return WsPrivateMessage{};
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return Malformed("not_json", "not a JSON object");
  WsPrivateMessage m;
  const std::string event = StrMember(doc, "event");
  // "WebSocket Authentication": {"event":"login"|"error","code","msg"}.
  if (event == "login" || event == "error") {
    m.kind = event == "login" ? WsPrivateMessage::Kind::kLogin : WsPrivateMessage::Kind::kError;
    m.code = StrMember(doc, "code");
    m.msg = StrMember(doc, "msg");
    return m;
  }
  auto arg = doc.FindMember("arg");
  const std::string channel = arg != doc.MemberEnd() ? StrMember(arg->value, "channel") : "";
  if (event == "subscribe") {
    if (channel.empty()) return Malformed("unknown_message", "subscribe without arg.channel");
    m.kind = WsPrivateMessage::Kind::kSubscribed;
    m.channel = channel;
    return m;
  }
  auto data = doc.FindMember("data");
  if (!event.empty() || channel.empty() || data == doc.MemberEnd()) {
    return Malformed("unknown_message", "neither an event nor a push");
  }
  return ParsePush(channel, data->value);
}

}  // namespace xctl::blofin
