// NatsBus (nats_bus.h): the connection. libnats' process-wide state, the
// options of Connect, the connection callbacks that log and report state
// changes, Publish, Flush and Close. Subscriptions are in
// nats_subscription.cc, errors and URL redaction in nats_errors.cc.
#include "server/cluster/nats_bus.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/cluster/nats_internal.h"
#include "server/common/log.h"

namespace xctl::cluster {
namespace {

using nats_internal::StatusFor;
using nats_internal::UrlSecrets;

// libnats' process-wide state: opened once, lazily, by the first Connect.
absl::Mutex g_lib_mu;
bool g_lib_open ABSL_GUARDED_BY(g_lib_mu) = false;
bool g_lib_shut_down ABSL_GUARDED_BY(g_lib_mu) = false;

absl::Status OpenLibrary() {
  absl::MutexLock lock(&g_lib_mu);
  if (g_lib_shut_down) {
    return absl::FailedPreconditionError(
        "the NATS client library was shut down (ShutdownNatsLibrary); no new connections");
  }
  if (g_lib_open) return absl::OkStatus();
  natsStatus s = nats_Open(-1);
  if (s != NATS_OK) {
    return absl::InternalError(
        absl::StrCat("cannot initialize the NATS client library: ", natsStatus_GetText(s)));
  }
  g_lib_open = true;
  return absl::OkStatus();
}

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

bool ValidPublishSubject(absl::string_view subject) {
  if (subject.empty() || subject.front() == '.' || subject.back() == '.') return false;
  for (absl::string_view token : absl::StrSplit(subject, '.')) {
    if (token.empty()) return false;
  }
  for (char c : subject) {
    if (c <= ' ' || c == 0x7f || c == '*' || c == '>') return false;
  }
  return true;
}

// Owns a natsOptions for the duration of Connect.
struct OptionsDeleter {
  void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};

}  // namespace

absl::string_view NatsStateName(NatsState state) {
  switch (state) {
    case NatsState::kConnected:
      return "connected";
    case NatsState::kDisconnected:
      return "disconnected";
    case NatsState::kClosed:
      return "closed";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------
// Connection callbacks. libnats calls them on its own threads, possibly after
// natsConnection_Destroy returned, with a closure that points at a heap box
// holding a shared_ptr<Callbacks>; the box is deleted by the closed callback
// (always the last one) or by Connect when the connection never existed.

struct NatsBus::Callbacks {
  std::string redacted_url;
  std::string name;
  std::function<void(NatsState)> on_state_change;
  std::atomic<NatsState> state{NatsState::kConnected};
  std::atomic<uint64_t> reconnects{0};
  std::atomic<int64_t> last_slow_log_ms{0};
  // Set by Close(): the disconnect libnats reports while closing is not an
  // outage and is not logged as one.
  std::atomic<bool> closing{false};

  absl::Mutex mu;
  bool closed_cb_done ABSL_GUARDED_BY(mu) = false;

  // Logs and reports `next` if it differs from the current state.
  void Transition(NatsState next) {
    if (next == NatsState::kDisconnected && closing.load()) return;
    NatsState prev = state.exchange(next);
    if (prev == next) return;
    if (next == NatsState::kConnected) {
      reconnects.fetch_add(1);
      spdlog::info("event=nats_reconnected url={} name={}", LogQuote(redacted_url),
                   LogQuote(name));
    } else if (next == NatsState::kDisconnected) {
      spdlog::warn("event=nats_disconnected url={} name={} note={}", LogQuote(redacted_url),
                   LogQuote(name), LogQuote("reconnecting; publishes are buffered"));
    } else {
      spdlog::info("event=nats_closed url={} name={}", LogQuote(redacted_url), LogQuote(name));
    }
    if (on_state_change) {
      try {
        on_state_change(next);
      } catch (const std::exception& e) {
        spdlog::error("event=nats_state_callback_threw error={}", LogQuote(e.what()));
      } catch (...) {
        spdlog::error("event=nats_state_callback_threw error=unknown");
      }
    }
  }
};

namespace {

using CallbacksBox = std::shared_ptr<NatsBus::Callbacks>;

void OnDisconnected(natsConnection*, void* closure) {
  (*static_cast<CallbacksBox*>(closure))->Transition(NatsState::kDisconnected);
}

void OnReconnected(natsConnection*, void* closure) {
  (*static_cast<CallbacksBox*>(closure))->Transition(NatsState::kConnected);
}

// Initial connection made in the background (retry_initial_connect).
void OnConnected(natsConnection*, void* closure) {
  auto& cb = *static_cast<CallbacksBox*>(closure);
  NatsState prev = cb->state.exchange(NatsState::kConnected);
  if (prev != NatsState::kConnected) {
    spdlog::info("event=nats_connected url={} name={}", LogQuote(cb->redacted_url),
                 LogQuote(cb->name));
    if (cb->on_state_change) {
      try {
        cb->on_state_change(NatsState::kConnected);
      } catch (...) {
        spdlog::error("event=nats_state_callback_threw");
      }
    }
  }
}

void OnClosed(natsConnection*, void* closure) {
  auto* box = static_cast<CallbacksBox*>(closure);
  CallbacksBox cb = *box;
  delete box;  // the closed callback is the last one libnats makes
  cb->Transition(NatsState::kClosed);
  absl::MutexLock lock(&cb->mu);
  cb->closed_cb_done = true;
}

void OnAsyncError(natsConnection*, natsSubscription* sub, natsStatus err, void* closure) {
  auto& cb = *static_cast<CallbacksBox*>(closure);
  if (err == NATS_SLOW_CONSUMER) {
    // At most one line every 10 s per connection: a slow consumer can drop
    // thousands of messages a second.
    int64_t now = absl::ToUnixMillis(absl::Now());
    int64_t last = cb->last_slow_log_ms.load();
    if (now - last < 10'000 || !cb->last_slow_log_ms.compare_exchange_strong(last, now)) return;
    int64_t dropped = 0;
    if (sub) natsSubscription_GetDropped(sub, &dropped);
    spdlog::warn("event=nats_slow_consumer url={} subject={} dropped={}",
                 LogQuote(cb->redacted_url),
                 LogQuote(sub ? natsSubscription_GetSubject(sub) : ""), dropped);
    return;
  }
  spdlog::warn("event=nats_async_error url={} error={}", LogQuote(cb->redacted_url),
               LogQuote(natsStatus_GetText(err)));
}

}  // namespace

// ---------------------------------------------------------------------------
// NatsBus.

absl::StatusOr<std::unique_ptr<NatsBus>> NatsBus::Connect(absl::string_view url,
                                                          absl::string_view name,
                                                          const NatsOptions& options) {
  const std::string redacted = RedactNatsUrl(url);
  const std::vector<std::string> secrets = UrlSecrets(url);
  if (url.empty()) return absl::InvalidArgumentError("the NATS URL is empty");
  if (options.reconnect_buffer_bytes < 0 || options.max_pending_messages <= 0 ||
      options.reconnect_wait < absl::ZeroDuration() || options.max_pings_out <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid NATS options for ", redacted,
        ": reconnect_buffer_bytes must be >= 0, max_pending_messages and max_pings_out > 0, "
        "reconnect_wait >= 0"));
  }
  if (absl::Status s = OpenLibrary(); !s.ok()) return s;

  natsOptions* raw_opts = nullptr;
  if (natsStatus s = natsOptions_Create(&raw_opts); s != NATS_OK) {
    return StatusFor(s, "cannot create NATS options", redacted, secrets);
  }
  std::unique_ptr<natsOptions, OptionsDeleter> opts(raw_opts);

  auto callbacks = std::make_shared<Callbacks>();
  callbacks->redacted_url = redacted;
  callbacks->name = std::string(name);
  callbacks->on_state_change = options.on_state_change;
  callbacks->state = options.retry_initial_connect ? NatsState::kDisconnected
                                                   : NatsState::kConnected;
  // Freed by OnClosed, or below when no connection comes into being.
  auto box = std::make_unique<CallbacksBox>(callbacks);
  void* closure = box.get();

  const std::string url_str(url);
  const std::string name_str(name);
  natsStatus s = NATS_OK;
  // A comma-separated list goes to SetServers, a single URL to SetURL.
  std::vector<std::string> urls = absl::StrSplit(url_str, ',', absl::SkipWhitespace());
  if (urls.size() > 1) {
    std::vector<const char*> ptrs;
    for (std::string& u : urls) {
      u = std::string(absl::StripAsciiWhitespace(u));
      ptrs.push_back(u.c_str());
    }
    s = natsOptions_SetServers(opts.get(), ptrs.data(), static_cast<int>(ptrs.size()));
  } else {
    s = natsOptions_SetURL(opts.get(), url_str.c_str());
  }
  if (s != NATS_OK) return StatusFor(s, "invalid NATS URL", redacted, secrets);

  auto check = [&](natsStatus st, const char* what) -> absl::Status {
    if (st == NATS_OK) return absl::OkStatus();
    return StatusFor(st, absl::StrCat("cannot set NATS option ", what), redacted, secrets);
  };
  absl::Status st;
  if (st = check(natsOptions_SetName(opts.get(), name_str.c_str()), "name"); !st.ok()) return st;
  if (st = check(natsOptions_SetAllowReconnect(opts.get(), true), "allow_reconnect"); !st.ok())
    return st;
  if (st = check(natsOptions_SetMaxReconnect(opts.get(), -1), "max_reconnect"); !st.ok())
    return st;
  if (st = check(natsOptions_SetReconnectWait(opts.get(), Millis(options.reconnect_wait)),
                 "reconnect_wait");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetReconnectJitter(opts.get(), Millis(options.reconnect_jitter),
                                                Millis(options.reconnect_jitter)),
                 "reconnect_jitter");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetReconnectBufSize(opts.get(), options.reconnect_buffer_bytes),
                 "reconnect_buffer_bytes");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetTimeout(opts.get(), Millis(options.connect_timeout)),
                 "connect_timeout");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetPingInterval(opts.get(), Millis(options.ping_interval)),
                 "ping_interval");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetMaxPingsOut(opts.get(), options.max_pings_out), "max_pings_out");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetMaxPendingMsgs(opts.get(), options.max_pending_messages),
                 "max_pending_messages");
      !st.ok())
    return st;
  // Keep to the configured servers: a cluster's gossip must not steer xctld
  // to addresses the operator did not list.
  if (st = check(natsOptions_SetIgnoreDiscoveredServers(opts.get(), true), "ignore_discovered");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetDisconnectedCB(opts.get(), OnDisconnected, closure),
                 "disconnected_cb");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetReconnectedCB(opts.get(), OnReconnected, closure),
                 "reconnected_cb");
      !st.ok())
    return st;
  if (st = check(natsOptions_SetClosedCB(opts.get(), OnClosed, closure), "closed_cb"); !st.ok())
    return st;
  if (st = check(natsOptions_SetErrorHandler(opts.get(), OnAsyncError, closure), "error_cb");
      !st.ok())
    return st;
  if (options.retry_initial_connect) {
    // With a connected callback libnats retries in the background (without
    // one it would retry inside Connect, forever with max_reconnect -1).
    if (st = check(natsOptions_SetRetryOnFailedConnect(opts.get(), true, OnConnected, closure),
                   "retry_on_failed_connect");
        !st.ok())
      return st;
  }

  natsConnection* conn = nullptr;
  s = natsConnection_Connect(&conn, opts.get());
  if (s == NATS_NOT_YET_CONNECTED && options.retry_initial_connect) {
    spdlog::warn("event=nats_connect_pending url={} name={} note={}", LogQuote(redacted),
                 LogQuote(name_str), LogQuote("no server yet; retrying in the background"));
  } else if (s != NATS_OK) {
    // No connection object exists, so no callback will ever use the box.
    return StatusFor(s, "cannot connect", redacted, secrets);
  }
  box.release();  // owned by libnats' callbacks from now on
  spdlog::info("event=nats_connect url={} name={} connected={}", LogQuote(redacted),
               LogQuote(name_str), s == NATS_OK);
  return std::unique_ptr<NatsBus>(new NatsBus(conn, redacted, std::move(callbacks)));
}

NatsBus::NatsBus(natsConnection* conn, std::string redacted_url,
                 std::shared_ptr<Callbacks> callbacks)
    : graveyard_(std::make_shared<NatsSubscription::Graveyard>()),
      conn_(conn),
      redacted_url_(std::move(redacted_url)),
      callbacks_(std::move(callbacks)) {}

NatsBus::~NatsBus() {
  Close();
  // Wait for the closed callback so on_state_change never runs after the
  // bus is gone (bounded: libnats posts it from its callback thread).
  absl::MutexLock lock(&callbacks_->mu);
  callbacks_->mu.AwaitWithTimeout(absl::Condition(&callbacks_->closed_cb_done),
                                  absl::Seconds(5));
  // conn_ is destroyed by Close(); callbacks_ may outlive us in libnats' box.
}

void NatsBus::Close() {
  absl::WriterMutexLock lock(&conn_mu_);
  natsConnection* conn = std::exchange(conn_, nullptr);
  if (conn == nullptr) return;
  callbacks_->closing = true;
  natsConnection_Close(conn);  // flushes pending data for up to 500 ms
  natsConnection_Destroy(conn);
  graveyard_->Close();
}

bool NatsBus::connected() const {
  absl::ReaderMutexLock lock(&conn_mu_);
  return conn_ != nullptr && natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED;
}

NatsState NatsBus::state() const { return callbacks_->state.load(); }

uint64_t NatsBus::reconnects() const { return callbacks_->reconnects.load(); }

absl::Status NatsBus::Publish(absl::string_view subject, absl::string_view payload) {
  absl::ReaderMutexLock lock(&conn_mu_);
  if (!ValidPublishSubject(subject)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid NATS subject \"", subject,
                     "\" for publishing: dot-separated non-empty tokens, no wildcards or spaces"));
  }
  if (conn_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("the NATS connection to ", redacted_url_, " is closed"));
  }
  const std::string subj(subject);
  natsStatus s = natsConnection_Publish(conn_, subj.c_str(), payload.data(),
                                        static_cast<int>(payload.size()));
  if (s == NATS_OK) return absl::OkStatus();
  if (s == NATS_INSUFFICIENT_BUFFER) {
    return absl::UnavailableError(absl::StrCat(
        "NATS ", redacted_url_, " is unreachable and the reconnect buffer is full; message on ",
        subj, " dropped"));
  }
  return StatusFor(s, absl::StrCat("cannot publish on ", subj), redacted_url_, {});
}

absl::Status NatsBus::Flush(absl::Duration timeout) {
  absl::ReaderMutexLock lock(&conn_mu_);
  if (conn_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("the NATS connection to ", redacted_url_, " is closed"));
  }
  natsStatus s = natsConnection_FlushTimeout(conn_, std::max<int64_t>(1, Millis(timeout)));
  if (s == NATS_OK) return absl::OkStatus();
  return StatusFor(s, "flush failed", redacted_url_, {});
}

void ShutdownNatsLibrary(absl::Duration timeout) {
  absl::MutexLock lock(&g_lib_mu);
  if (g_lib_shut_down) return;
  g_lib_shut_down = true;
  if (!g_lib_open) return;
  natsStatus s = nats_CloseAndWait(std::max<int64_t>(1, Millis(timeout)));
  if (s != NATS_OK) {
    spdlog::warn("event=nats_library_shutdown status={}", LogQuote(natsStatus_GetText(s)));
  }
}

}  // namespace xctl::cluster
