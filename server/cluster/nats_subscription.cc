// NatsSubscription (nats_bus.h): the state shared with libnats' delivery
// thread and its callback box, the callbacks libnats makes for a
// subscription, Cancel (which waits for a running callback) and
// NatsBus::Subscribe. The connection itself is in nats_bus.cc.
#include <nats/nats.h>

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cluster/nats_bus.h"
#include "server/cluster/nats_internal.h"
#include "server/common/log.h"

namespace xctl::cluster {
namespace {

using nats_internal::StatusFor;

bool ValidSubscribeSubject(absl::string_view subject) {
  if (subject.empty()) return false;
  std::vector<absl::string_view> tokens = absl::StrSplit(subject, '.');
  for (size_t i = 0; i < tokens.size(); ++i) {
    absl::string_view t = tokens[i];
    if (t.empty()) return false;
    if (t == ">" && i + 1 != tokens.size()) return false;
    if (t.size() > 1 && (t.find('*') != absl::string_view::npos ||
                         t.find('>') != absl::string_view::npos)) {
      return false;
    }
  }
  for (char c : subject) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

struct NatsSubscription::State {
  std::string subject;
  NatsMessageCallback callback;
  std::atomic<uint64_t> delivered{0};

  absl::Mutex mu;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  int active ABSL_GUARDED_BY(mu) = 0;
  std::thread::id delivering_thread ABSL_GUARDED_BY(mu);
  bool completed ABSL_GUARDED_BY(mu) = false;  // libnats' dispatcher has exited
};

namespace {

using SubStateBox = std::shared_ptr<NatsSubscription::State>;

void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  NatsSubscription::State& st = **static_cast<SubStateBox*>(closure);
  {
    absl::MutexLock lock(&st.mu);
    if (st.cancelled) {
      natsMsg_Destroy(msg);
      return;
    }
    ++st.active;
    st.delivering_thread = std::this_thread::get_id();
  }
  absl::string_view subject(natsMsg_GetSubject(msg));
  absl::string_view payload(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  try {
    st.callback(subject, payload);
  } catch (const std::exception& e) {
    spdlog::error("event=nats_callback_threw subject={} error={}", LogQuote(subject),
                  LogQuote(e.what()));
  } catch (...) {
    spdlog::error("event=nats_callback_threw subject={} error=unknown", LogQuote(subject));
  }
  natsMsg_Destroy(msg);
  st.delivered.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&st.mu);
  --st.active;
  st.delivering_thread = std::thread::id();
}

// libnats' dispatcher for the subscription has exited: no OnMessage runs
// after this. Frees the box given to libnats.
void OnSubscriptionComplete(void* closure) {
  auto* box = static_cast<SubStateBox*>(closure);
  SubStateBox st = *box;
  delete box;
  absl::MutexLock lock(&st->mu);
  st->completed = true;
}

// Await condition (called with st->mu held).
bool NoCallbackRunning(NatsSubscription::State* st) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return st->active == 0;
}

}  // namespace

NatsSubscription::NatsSubscription(std::string subject, natsSubscription* sub,
                                   std::shared_ptr<State> state,
                                   std::shared_ptr<Graveyard> graveyard)
    : subject_(std::move(subject)),
      sub_(sub),
      state_(std::move(state)),
      graveyard_(std::move(graveyard)) {}

NatsSubscription::~NatsSubscription() { Cancel(); }

void NatsSubscription::Cancel() {
  if (sub_ == nullptr) return;
  bool from_own_callback;
  {
    absl::MutexLock lock(&state_->mu);
    state_->cancelled = true;
    from_own_callback = state_->delivering_thread == std::this_thread::get_id();
    if (!from_own_callback) {
      // A callback already running on libnats' thread finishes first.
      state_->mu.Await(absl::Condition(&NoCallbackRunning, state_.get()));
    }
  }
  // Removes interest on the server and ends libnats' dispatcher thread for
  // this subscription (an error here means the connection is already closed,
  // which closed the subscription too).
  natsSubscription_Unsubscribe(sub_);
  if (!from_own_callback) {
    absl::MutexLock lock(&state_->mu);
    if (!state_->mu.AwaitWithTimeout(absl::Condition(&state_->completed), absl::Seconds(5))) {
      spdlog::warn("event=nats_unsubscribe_slow subject={}", LogQuote(subject_));
    }
  }
  graveyard_->Bury(sub_);
  sub_ = nullptr;
}

int64_t NatsSubscription::dropped() const {
  int64_t n = 0;
  if (sub_ != nullptr) natsSubscription_GetDropped(sub_, &n);
  return n;
}

uint64_t NatsSubscription::delivered() const { return state_->delivered.load(); }

absl::StatusOr<std::unique_ptr<NatsSubscription>> NatsBus::Subscribe(
    absl::string_view subject, NatsMessageCallback callback) {
  if (!ValidSubscribeSubject(subject)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid NATS subject \"", subject,
        "\" for subscribing: dot-separated non-empty tokens; \"*\" a whole token, \">\" last"));
  }
  if (!callback) return absl::InvalidArgumentError("Subscribe needs a callback");
  absl::ReaderMutexLock lock(&conn_mu_);
  if (conn_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("the NATS connection to ", redacted_url_, " is closed"));
  }
  auto state = std::make_shared<NatsSubscription::State>();
  state->subject = std::string(subject);
  state->callback = std::move(callback);
  auto box = std::make_unique<SubStateBox>(state);

  natsSubscription* sub = nullptr;
  natsStatus s = natsConnection_Subscribe(&sub, conn_, state->subject.c_str(), OnMessage,
                                          box.get());
  if (s != NATS_OK) {
    return StatusFor(s, absl::StrCat("cannot subscribe to ", state->subject), redacted_url_, {});
  }
  s = natsSubscription_SetOnCompleteCB(sub, OnSubscriptionComplete, box.get());
  if (s != NATS_OK) {
    // Closed under our feet (the connection closed): its dispatcher may still
    // hold the box, so it is deliberately leaked (a few bytes, only here).
    {
      absl::MutexLock lock(&state->mu);
      state->cancelled = true;
    }
    box.release();
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return StatusFor(s, absl::StrCat("cannot subscribe to ", state->subject), redacted_url_, {});
  }
  box.release();  // freed by OnSubscriptionComplete
  std::string subject_copy = state->subject;
  return std::unique_ptr<NatsSubscription>(
      new NatsSubscription(std::move(subject_copy), sub, std::move(state), graveyard_));
}

}  // namespace xctl::cluster
