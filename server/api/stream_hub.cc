#include "server/api/stream_hub.h"

#include <algorithm>

#include "server/api/status.h"

namespace xctl::api {

StreamHub::StreamHub(absl::Duration heartbeat_interval, int wake_threads)
    : heartbeat_interval_(heartbeat_interval) {
  thread_ = std::thread([this] { HeartbeatLoop(); });
  for (int i = 0; i < std::max(1, wake_threads); ++i) {
    wake_threads_.emplace_back([this] { WakeLoop(); });
  }
}

StreamHub::~StreamHub() {
  Shutdown();
  {
    absl::MutexLock lock(&mu_);
    // Streams end in OnDone once the server has shut down; wait for them.
    mu_.AwaitWithTimeout(
        absl::Condition(+[](absl::flat_hash_set<HubStream*>* s) { return s->empty(); },
                        &streams_),
        absl::Seconds(10));
  }
  thread_.join();
  {
    absl::MutexLock lock(&wake_mu_);
    wake_stopping_ = true;
  }
  for (std::thread& t : wake_threads_) t.join();
}

void StreamHub::Register(HubStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.insert(stream);
  if (shutting_down_) {
    stream->FinishWith(ToGrpcStatus(absl::UnavailableError("server shutting down")));
  }
}

void StreamHub::Unregister(HubStream* stream) {
  {
    absl::MutexLock lock(&mu_);
    streams_.erase(stream);
  }
  absl::MutexLock lock(&wake_mu_);
  woken_.erase(stream);
  struct Idle {
    const absl::flat_hash_map<HubStream*, int>* waking;
    HubStream* stream;
  } idle{&waking_, stream};
  wake_mu_.Await(absl::Condition(
      +[](Idle* i) { return !i->waking->contains(i->stream); }, &idle));
}

void StreamHub::Wake(HubStream* stream) {
  absl::MutexLock lock(&wake_mu_);
  if (wake_stopping_ || !woken_.insert(stream).second) return;
  wake_queue_.push_back(stream);
}

void StreamHub::WakeLoop() {
  absl::MutexLock lock(&wake_mu_);
  for (;;) {
    wake_mu_.Await(absl::Condition(
        +[](StreamHub* h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(h->wake_mu_) {
          return h->wake_stopping_ || !h->wake_queue_.empty();
        },
        this));
    if (wake_queue_.empty()) return;  // stopping
    HubStream* stream = wake_queue_.front();
    wake_queue_.pop_front();
    if (!woken_.erase(stream)) continue;  // unregistered since
    ++waking_[stream];
    wake_mu_.Unlock();
    stream->OnWake();
    wake_mu_.Lock();
    if (--waking_[stream] == 0) waking_.erase(stream);
  }
}

void StreamHub::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  for (HubStream* s : streams_) {
    s->FinishWith(ToGrpcStatus(absl::UnavailableError("server shutting down")));
  }
}

bool StreamHub::shutting_down() const {
  absl::MutexLock lock(&mu_);
  return shutting_down_;
}

size_t StreamHub::open_streams() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

void StreamHub::HeartbeatLoop() {
  absl::MutexLock lock(&mu_);
  while (!shutting_down_) {
    mu_.AwaitWithTimeout(absl::Condition(&shutting_down_),
                         std::min(heartbeat_interval_, absl::Seconds(1)));
    if (shutting_down_) break;
    const absl::Time now = absl::Now();
    for (HubStream* s : streams_) s->Heartbeat(now, heartbeat_interval_);
  }
}

}  // namespace xctl::api
