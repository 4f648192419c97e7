#include "server/api/stream_hub.h"

#include <algorithm>

namespace xctl::api {

StreamHub::StreamHub(absl::Duration heartbeat_interval)
    : heartbeat_interval_(heartbeat_interval) {
  thread_ = std::thread([this] { HeartbeatLoop(); });
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
}

void StreamHub::Register(HubStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.insert(stream);
  if (shutting_down_) {
    stream->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }
}

void StreamHub::Unregister(HubStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

void StreamHub::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  for (HubStream* s : streams_) {
    s->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
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
