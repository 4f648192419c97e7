#include "server/price/blofin_ws_messages.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "server/price/blofin_source.h"

namespace xctl {
namespace {

absl::Status Malformed(absl::string_view reason, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(reason, ": ", detail));
}

std::string StringMember(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return "";
  if (it->value.IsString()) return it->value.GetString();
  if (it->value.IsInt64()) return std::to_string(it->value.GetInt64());
  return "";
}

}  // namespace

absl::StatusOr<BlofinWsMessage> ParseBlofinWsMessage(absl::string_view text) {
  BlofinWsMessage out;
  if (text == "pong") return out;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return Malformed("not_json", absl::StrCat("at offset ", doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) return Malformed("not_object", "the message is not a JSON object");
  const std::string event = StringMember(doc, "event");
  if (event == "error") {
    out.kind = BlofinWsMessage::Kind::kError;
    out.code = StringMember(doc, "code");
    out.msg = StringMember(doc, "msg");
    return out;
  }
  auto arg = doc.FindMember("arg");
  if (arg == doc.MemberEnd() || !arg->value.IsObject()) {
    return Malformed(event.empty() ? "unknown_message" : "bad_arg",
                     "no \"arg\" object");
  }
  const std::string channel = StringMember(arg->value, "channel");
  out.inst_id = StringMember(arg->value, "instId");
  if (channel.empty() || out.inst_id.empty()) {
    return Malformed("bad_arg", "\"arg\" lacks channel or instId");
  }
  if (event == "subscribe" || event == "unsubscribe") {
    out.kind = event == "subscribe" ? BlofinWsMessage::Kind::kSubscribed
                                    : BlofinWsMessage::Kind::kUnsubscribed;
    return out;
  }
  if (!event.empty() || channel != "tickers") {
    return Malformed("unknown_message", absl::StrCat("event \"", event, "\" channel \"",
                                                     channel, "\""));
  }
  auto data = doc.FindMember("data");
  if (data == doc.MemberEnd() || !data->value.IsArray() || data->value.Empty()) {
    return Malformed("no_data", "a tickers push without a \"data\" array");
  }
  out.kind = BlofinWsMessage::Kind::kTickers;
  for (const auto& entry : data->value.GetArray()) {
    std::optional<Tick> tick = BlofinTickerFromJson(entry);
    if (!tick || tick->pair != out.inst_id) {
      return Malformed("bad_ticker", absl::StrCat("an entry of ", out.inst_id,
                                                  " without a usable instId or last"));
    }
    out.ticks.push_back(*std::move(tick));
  }
  return out;
}

std::string BlofinWsMalformedReason(const absl::Status& status) {
  std::pair<std::string, std::string> parts =
      absl::StrSplit(status.message(), absl::MaxSplits(':', 1));
  return parts.first;
}

std::vector<std::string> BlofinWsSubscribeRequests(const std::vector<std::string>& pairs,
                                                   size_t max_args_bytes) {
  std::vector<std::string> out;
  std::string args;
  auto flush = [&] {
    if (!args.empty()) out.push_back(absl::StrCat(R"({"op":"subscribe","args":[)", args, "]}"));
    args.clear();
  };
  for (const std::string& pair : pairs) {
    // Pairs passed ValidateSymbol: no character needs escaping.
    std::string arg = absl::StrCat(R"({"channel":"tickers","instId":")", pair, R"("})");
    if (!args.empty() && args.size() + 1 + arg.size() + 2 > max_args_bytes) flush();
    if (!args.empty()) args += ",";
    args += arg;
  }
  flush();
  return out;
}

}  // namespace xctl
