// WebSocketClient: one client WebSocket connection (RFC 6455), plain over TCP
// (ws://, loopback tests) or over TLS (wss://, the server's certificate checked
// against the system's CA list and the URL's host name), on Boost.Beast with
// OpenSSL (docs/websocket.md says why Beast). Beast does the framing,
// masking, fragmentation and the protocol's own ping/pong and close
// handshake; this class only adds deadlines and absl::Status.
//
// Every blocking call has a deadline on the steady clock: these are I/O
// timeouts, like HttpClient's, not times of the module's Clock. Errors:
// UNAVAILABLE for a connection that cannot be made or broke (the message
// names the URL's host and what failed), DEADLINE_EXCEEDED when a connect or
// a write took too long (the connection is then closed) or when ReadText got
// nothing by its deadline (the connection stays usable: the read continues
// in the next ReadText), CANCELLED after Interrupt.
//
// One thread uses a client; only Interrupt() may be called from another one.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace xctl {

class WebSocketClient {
 public:
  struct Options {
    // DNS, TCP connect, TLS and WebSocket handshakes together.
    int connect_timeout_ms = 5000;
    // One message out (SendText, Close).
    int write_timeout_ms = 5000;
    // A larger incoming message breaks the connection (memory bound).
    size_t max_message_bytes = 4 << 20;
  };

  WebSocketClient();
  explicit WebSocketClient(Options options);
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Connects to `url`, ws://HOST[:PORT][/PATH] or wss://...; once per client.
  [[nodiscard]] absl::Status Connect(absl::string_view url);

  // Sends one text message.
  [[nodiscard]] absl::Status SendText(absl::string_view text);

  // The next message (text or binary) from the server, waiting at most
  // `timeout`. DEADLINE_EXCEEDED: nothing came (the connection is fine);
  // UNAVAILABLE: the connection closed or broke (the close reason in the
  // message).
  [[nodiscard]] absl::StatusOr<std::string> ReadText(absl::Duration timeout);

  // The WebSocket close handshake (normal closure), at most
  // write_timeout_ms; the connection is closed afterwards in any case.
  absl::Status Close();

  // Thread-safe: makes a running or later call of this client return
  // CANCELLED soon and closes the connection.
  void Interrupt();

  bool connected() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xctl
