// The messages of BloFin's public WebSocket that the blofin-ws price source
// sends and reads (index.md, "WebSocket" > "Subscribe", "WS Tickers
// Channel", and "Rate Limits" > "WebSocket Connection Management" for the
// 'ping'/'pong' strings). Pure functions, no I/O.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/price/tick.h"

namespace xctl {

struct BlofinWsMessage {
  enum class Kind {
    kPong,          // the text 'pong' answering our 'ping'
    kSubscribed,    // {"event":"subscribe","arg":{"channel":"tickers","instId":..}}
    kUnsubscribed,  // {"event":"unsubscribe","arg":{..}}
    kError,         // {"event":"error","code":..,"msg":..} (no arg in the docs' example)
    kTickers,       // {"arg":{"channel":"tickers","instId":..},"data":[{ticker}]}
  };
  Kind kind = Kind::kPong;
  std::string inst_id;  // kSubscribed, kUnsubscribed, kTickers: arg.instId
  std::string code;     // kError
  std::string msg;      // kError
  std::vector<Tick> ticks;  // kTickers: every entry of data (exchange_time_ms 0 without ts)
};

// Parses one message. A message that is none of the above is
// INVALID_ARGUMENT whose message starts with a stable reason word, the one
// the source logs and counts: "not_json", "not_object", "unknown_message"
// (no event and no data, or another channel), "bad_arg" (arg without
// channel/instId), "no_data" (data missing, not an array or empty),
// "bad_ticker" (an entry without instId or a positive last, or whose instId
// is not arg.instId). A push with any bad entry is rejected whole: no price
// of it is used.
[[nodiscard]] absl::StatusOr<BlofinWsMessage> ParseBlofinWsMessage(absl::string_view text);

// The reason word of an error of ParseBlofinWsMessage ("bad_ticker").
std::string BlofinWsMalformedReason(const absl::Status& status);

// The subscribe requests for the tickers channel of `pairs`, as few as
// possible with each one's args at most `max_args_bytes` long (index.md,
// "Subscribe": "the total length of multiple channels cannot exceed 4,096
// bytes").
std::vector<std::string> BlofinWsSubscribeRequests(const std::vector<std::string>& pairs,
                                                   size_t max_args_bytes = 4096);

// The keep-alive string (index.md, "WebSocket Connection Management").
inline constexpr char kBlofinWsPing[] = "ping";

}  // namespace xctl
