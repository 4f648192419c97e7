// The messages of BloFin's private WebSocket that the private connection
// (private_ws.h) sends and reads. Pure functions, no I/O.
//
//  - login (index.md, "WebSocket" > "WebSocket Authentication"):
//    {"op":"login","args":[{"apiKey","passphrase","timestamp","sign","nonce"}]}
//    with sign = Base64(hex(HMAC-SHA256(secret, "/users/self/verify" + "GET" +
//    timestamp + nonce))) ("Signature Generation"): the REST signer's Sign
//    (signer.h) over that prehash. Answer {"event":"login","code":"0"} or
//    {"event":"error","code":"60009","msg":"Login failed."}.
//  - subscribe (index.md, "Subscribe"; "WS Order Channel", "WS Positions
//    Channel", "WS Account Channel"): one request with the three channels
//    without instId (every instrument); each acknowledged
//    {"event":"subscribe","arg":{"channel":..}}.
//  - pushes {"arg":{"channel":..},"data":..}: orders and positions carry an
//    array of objects in the REST shapes ("GET Order Detail", "GET
//    Positions"), account one object ("GET Futures Account Balance").
//  - 'ping' / 'pong' ("Rate Limits" > "WebSocket Connection Management").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/exchange/blofin/json.h"
#include "server/exchange/credentials.h"
#include "server/model/types.h"

namespace xctl::blofin {

// The fixed path and method of the login prehash ("Signature Generation").
inline constexpr char kWsLoginPath[] = "/users/self/verify";

// The login request. Holds the key and passphrase: never log it.
std::string WsLoginRequest(const BlofinCredentials& credentials, int64_t timestamp_ms,
                           absl::string_view nonce);

// The subscribe request for the orders, positions and account channels.
std::string WsPrivateSubscribeRequest();

// The channels subscribed, in the order of the request.
inline constexpr const char* kWsPrivateChannels[] = {"orders", "positions", "account"};

struct WsPrivateMessage {
  enum class Kind {
    kPong,        // 'pong'
    kLogin,       // {"event":"login","code":"0"}
    kSubscribed,  // {"event":"subscribe","arg":{"channel":..}}
    kError,       // {"event":"error","code":..,"msg":..} (login refused, bad request)
    kOrders,      // orders push
    kPositions,   // positions push
    kAccount,     // account push
  };
  Kind kind = Kind::kPong;
  std::string channel;  // kSubscribed
  std::string code;     // kLogin, kError
  std::string msg;      // kError
  std::vector<Order> orders;  // kOrders (strategy_id and id unset)
  // kPositions: every entry, whatever its margin mode (a zero "positions"
  // is a position that is gone: quantity 0).
  std::vector<RemotePosition> positions;
  Account account;  // kAccount: the USDT line (balance, frozen)
};

// Parses one message; anything else is INVALID_ARGUMENT whose message starts
// with a reason word: "not_json", "unknown_message", "bad_order",
// "bad_position", "bad_account". A push with one bad entry is rejected whole.
[[nodiscard]] absl::StatusOr<WsPrivateMessage> ParseWsPrivateMessage(absl::string_view text);

}  // namespace xctl::blofin
