// NatsBus: xctl's one connection to NATS in cluster mode (docs/cluster.md).
// It publishes bytes on a subject and delivers the bytes of a subject to a
// callback; nothing more. What the bytes mean (tick_codec.h) and which
// subjects exist (subjects.h) live elsewhere.
//
// The connection reconnects forever: while NATS is away, publishes are
// buffered up to a bound and subscriptions are restored by the client library
// when the server is back, without the caller doing anything. Each change of
// connection state (disconnected, reconnected, closed) is logged once.
//
// libnats keeps process-wide state: the library is opened on the first
// Connect (never at static-initialization time, so a process that runs
// without cluster mode calls no NATS function), and may be torn down once at
// the end with ShutdownNatsLibrary().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

// libnats' opaque types (nats/nats.h stays out of this header).
typedef struct __natsConnection natsConnection;
typedef struct __natsSubscription natsSubscription;

namespace xctl::cluster {

// A NATS URL (or a comma-separated list of them) with credentials hidden,
// for logs and error messages: nats://user:pass@h -> nats://user:***@h, a
// token nats://tok@h -> nats://***@h.
std::string RedactNatsUrl(absl::string_view url);

// Connection state, as NatsBus reports it.
enum class NatsState {
  kConnected,     // connected (first time or again after a reconnect)
  kDisconnected,  // lost the server; the client library is reconnecting
  kClosed,        // closed for good (Close(), or the library gave up)
};

// "connected", "disconnected", "closed".
absl::string_view NatsStateName(NatsState state);

struct NatsOptions {
  // Wait between two reconnect attempts to the same server.
  absl::Duration reconnect_wait = absl::Milliseconds(500);
  // Random jitter added to reconnect_wait, so a cluster does not reconnect in
  // lock step after a NATS restart.
  absl::Duration reconnect_jitter = absl::Milliseconds(100);
  // Bytes of publishes buffered while disconnected; when full, Publish
  // returns UNAVAILABLE (the caller drops or retries; ticks are conflated
  // state, so dropping is right for them).
  int reconnect_buffer_bytes = 8 * 1024 * 1024;
  // Timeout of one connection attempt.
  absl::Duration connect_timeout = absl::Seconds(2);
  // How often the client pings the server, and how many unanswered pings
  // mean the connection is dead (detects a silently vanished server).
  absl::Duration ping_interval = absl::Seconds(2);
  int max_pings_out = 2;
  // Messages buffered per subscription before NATS drops them (a slow
  // consumer); a dropped message is logged by the error handler.
  int max_pending_messages = 65536;
  // When the server cannot be reached at Connect: false fails at once with
  // UNAVAILABLE; true returns a bus that keeps trying in the background
  // (connected() is false until it succeeds, publishes are buffered).
  bool retry_initial_connect = false;
  // Called (after the log line) on every state change, on a libnats thread;
  // must not block or call back into the bus's Close(). Optional.
  std::function<void(NatsState)> on_state_change;
};

// Called with the subject and the payload of each message; on a libnats
// delivery thread, one message at a time per subscription. The bytes are
// valid only during the call. Exceptions are caught and logged.
using NatsMessageCallback =
    std::function<void(absl::string_view subject, absl::string_view payload)>;

class NatsBus;

// An active subscription. Destroying it (or calling Cancel) unsubscribes and
// waits for a callback that is running on another thread to return, so the
// owner may free what the callback uses right after. It may be destroyed
// from inside its own callback (then it does not wait for itself). It stays
// safe to destroy after the NatsBus is gone.
class NatsSubscription {
 public:
  ~NatsSubscription();
  NatsSubscription(const NatsSubscription&) = delete;
  NatsSubscription& operator=(const NatsSubscription&) = delete;

  // Unsubscribes now; idempotent. After it returns the callback is never
  // called again.
  void Cancel();

  const std::string& subject() const { return subject_; }
  // Messages NATS dropped because this subscriber fell behind.
  int64_t dropped() const;
  // Messages delivered to the callback.
  uint64_t delivered() const;

  // Shared with libnats' delivery thread (internal, nats_subscription.cc).
  struct State;
  // Where cancelled subscriptions wait for their connection to close
  // (internal, see nats_internal.h).
  struct Graveyard;

 private:
  friend class NatsBus;
  NatsSubscription(std::string subject, natsSubscription* sub,
                   std::shared_ptr<State> state, std::shared_ptr<Graveyard> graveyard);

  const std::string subject_;
  natsSubscription* sub_;  // owned; nullptr after Cancel
  std::shared_ptr<State> state_;
  std::shared_ptr<Graveyard> graveyard_;
};

// One NATS connection. Thread-safe: every method may be called from any
// thread, also from a subscription callback (except the destructor).
class NatsBus {
 public:
  // Connects to `url` (nats://host:port, credentials allowed in the URL,
  // several URLs separated by commas) announcing `name` (shown by the
  // server's monitoring, e.g. "xctld-<instance id>"). UNAVAILABLE naming the
  // redacted URL when no server answers (see retry_initial_connect),
  // INVALID_ARGUMENT for a malformed URL or option, FAILED_PRECONDITION after
  // ShutdownNatsLibrary().
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NatsBus>> Connect(
      absl::string_view url, absl::string_view name,
      const NatsOptions& options = {});

  // Closes the connection (buffered publishes are flushed first, for up to
  // a second). Subscriptions still alive stop receiving.
  ~NatsBus();
  NatsBus(const NatsBus&) = delete;
  NatsBus& operator=(const NatsBus&) = delete;

  // Publishes `payload` on `subject` (no wildcards). Returns once the
  // message is in the client's outgoing buffer (sent by a background thread,
  // or kept in the reconnect buffer while disconnected), not when a
  // subscriber has it: NATS core is at-most-once. INVALID_ARGUMENT for a bad
  // subject, UNAVAILABLE when the reconnect buffer is full or the
  // connection is closed.
  [[nodiscard]] absl::Status Publish(absl::string_view subject,
                                     absl::string_view payload);

  // Subscribes to `subject` (NATS wildcards "*" and ">" allowed). The
  // subscription survives reconnects. INVALID_ARGUMENT for a bad subject,
  // UNAVAILABLE when the connection is closed.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<NatsSubscription>> Subscribe(
      absl::string_view subject, NatsMessageCallback callback);

  // Waits until the server has processed everything sent so far
  // (a PING/PONG round trip), up to `timeout`. DEADLINE_EXCEEDED or
  // UNAVAILABLE otherwise. Use it to know a Subscribe is active on the
  // server before relying on it.
  [[nodiscard]] absl::Status Flush(absl::Duration timeout);

  // True while connected to a server (false while reconnecting or closed).
  bool connected() const;
  // The current state as the last callback reported it.
  NatsState state() const;
  // The URL given to Connect, credentials redacted.
  const std::string& redacted_url() const { return redacted_url_; }
  // Number of successful reconnects since Connect.
  uint64_t reconnects() const;

  // Closes the connection now (also done by the destructor); idempotent.
  // Publish and Subscribe fail afterwards.
  void Close();

  // Connection-level state shared with libnats callbacks (internal).
  struct Callbacks;

 private:
  NatsBus(natsConnection* conn, std::string redacted_url,
          std::shared_ptr<Callbacks> callbacks);

  // Readers (Publish, Subscribe, Flush) share it; Close takes it alone.
  std::shared_ptr<NatsSubscription::Graveyard> graveyard_;
  mutable absl::Mutex conn_mu_;
  natsConnection* conn_ ABSL_GUARDED_BY(conn_mu_);  // owned; nullptr once closed
  const std::string redacted_url_;
  std::shared_ptr<Callbacks> callbacks_;
};

// Tears down libnats' global state once, at process end, after every
// NatsBus and NatsSubscription is destroyed (waits up to `timeout` for the
// library's threads). Optional: the OS reclaims everything anyway; it keeps
// leak checkers quiet. A no-op when no NatsBus was ever connected. Later
// Connect calls fail with FAILED_PRECONDITION. Never call it from a NATS
// callback.
void ShutdownNatsLibrary(absl::Duration timeout = absl::Seconds(2));

}  // namespace xctl::cluster
