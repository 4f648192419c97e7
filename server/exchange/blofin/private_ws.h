// BlofinPrivateWs: one authenticated connection to BloFin's private
// WebSocket for one account (API key), on a thread of its own. It logs in
// (index.md, "WebSocket" > "WebSocket Authentication"), subscribes to the
// `orders`, `positions` and `account` channels ("WS Order Channel", "WS
// Positions Channel", "WS Account Channel") and hands every message to its
// Listener (BlofinExchange, blofin_push.cc), which applies it to the store.
//
//  - Ready() once the login is answered "0" and all three subscriptions are
//    acknowledged; then Listener::OnReady runs on the connection's thread
//    (the exchange closes the gap with REST) before any further message is
//    read. While not ready the exchange polls as it does without a
//    connection.
//  - A refused login ({"event":"error","code":"60009"}) ends the attempt:
//    state "login_refused", status() FAILED_PRECONDITION with reason
//    EXCHANGE_REJECTED naming BloFin's code; retried after the longest
//    back-off (the key may be fixed on BloFin's side).
//  - Keep-alive ("Rate Limits" > "WebSocket Connection Management"): 'ping'
//    after `ping_after_ms` without a message; no message within as long
//    again is a stalled connection: closed and made again.
//  - Reconnect with a capped exponential back-off on the Clock (1 s: one
//    new connection a second per IP, doubling to `backoff_max_ms`; back to
//    the start after a connection that was ready).
//  - Secrets: the login request is never logged; log lines name the key by
//    its last four characters.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/common/websocket_client.h"
#include "server/exchange/blofin/private_ws_messages.h"
#include "server/exchange/credentials.h"

namespace xctl::blofin {

struct PrivateWsOptions {
  // wss://openapi.blofin.com/ws/private, or ws://127.0.0.1:PORT/ws/private.
  std::string url;
  int ping_after_ms = 20'000;
  int connect_timeout_ms = 5000;
  // The wait for the login answer and for the three subscription acks.
  int handshake_timeout_ms = 10'000;
  int backoff_min_ms = 1000;
  int backoff_max_ms = 30'000;
};

class BlofinPrivateWs {
 public:
  // Called on the connection's thread, one call at a time.
  class Listener {
   public:
    virtual ~Listener() = default;
    // Logged in and subscribed (every (re)connect).
    virtual void OnPrivateReady() = 0;
    // A push (orders, positions, account), in arrival order.
    virtual void OnPrivatePush(const WsPrivateMessage& push) = 0;
  };
  struct Stats {
    uint64_t connects = 0;
    uint64_t connect_failures = 0;
    uint64_t logins = 0;
    uint64_t login_refusals = 0;
    uint64_t ready = 0;  // times the connection became ready
    uint64_t disconnects = 0;
    uint64_t stalls = 0;
    uint64_t pushes = 0;
    uint64_t malformed = 0;
    uint64_t pings = 0;
  };

  BlofinPrivateWs(PrivateWsOptions options, BlofinCredentials credentials, Listener* listener,
                  const Clock& clock);
  ~BlofinPrivateWs();
  BlofinPrivateWs(const BlofinPrivateWs&) = delete;
  BlofinPrivateWs& operator=(const BlofinPrivateWs&) = delete;

  void Start();
  // Closes the connection and joins the thread (idempotent).
  void Stop();

  // Logged in and subscribed to the three channels. Lock-free.
  bool Ready() const;
  // "connecting", "ready", "login_refused" or "down".
  std::string state() const;
  // OK when ready; else why not (login refused: reason EXCHANGE_REJECTED;
  // otherwise UNAVAILABLE with reason EXCHANGE_UNAVAILABLE).
  absl::Status status() const;
  Stats stats() const;

 private:
  void Run();
  // Stopping: the running socket call returns CANCELLED soon.
  void SetStopping(bool stopping);
  // Waits out the back-off before attempt `attempt` (0: none) on the
  // Clock; false when stopping.
  bool WaitBeforeAttempt(int attempt);
  // Sets the client Stop interrupts; false when stopping already.
  bool Attach(WebSocketClient* ws);
  // One connection; returns why it ended. `*was_ready` when it got ready.
  absl::Status Session(bool* was_ready);
  // A connected socket: handshake, then Follow until it ends; closed.
  absl::Status Serve(WebSocketClient& ws, bool* was_ready);
  // Logs in and subscribes; pushes read meanwhile go to the listener.
  absl::Status Handshake(WebSocketClient& ws);
  // Reads until the connection ends (keep-alive included).
  absl::Status Follow(WebSocketClient& ws);
  // Parses and dispatches one message; the parsed kind when it parsed.
  std::optional<WsPrivateMessage> Dispatch(absl::string_view text);
  void SetState(absl::string_view state, absl::Status status);
  void Count(uint64_t Stats::*field);
  int64_t BackoffMs(int attempt) const;
  std::string KeyTail() const;

  const PrivateWsOptions options_;
  const BlofinCredentials credentials_;
  Listener* const listener_;
  const Clock& clock_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  WebSocketClient* client_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string state_ ABSL_GUARDED_BY(mu_) = "connecting";
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> ready_{false};
  std::thread thread_;
};

}  // namespace xctl::blofin
