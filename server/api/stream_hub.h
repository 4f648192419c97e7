// The machinery every server-streaming RPC of xctl shares (prices, positions,
// KPIs), on gRPC's callback API:
//
//  - StreamHub: a service's open streams; one thread sends heartbeats to the
//    quiet ones, a small pool of wake threads turns "something is pending"
//    into writes (so a publisher such as the price poll thread never builds
//    or serializes a stream's message itself), Shutdown finishes them all
//    with UNAVAILABLE, and the destructor waits for them to end.
//  - QueuedWriter<Response>: one ServerWriteReactor per stream with exactly
//    one write in flight. Subclasses keep their pending changes conflated
//    elsewhere (a price or feed subscription) and turn them into messages in
//    DrainLocked only when the previous write is done, so a slow client costs
//    one queued message, never an unbounded queue or a thread.
// Every message gets the stream's next sequence number (1, 2, ...).
#pragma once

#include <deque>
#include <thread>
#include <type_traits>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/api/convert.h"

namespace xctl::api {

// A stream as its hub sees it.
class HubStream {
 public:
  virtual ~HubStream() = default;
  // Sends a heartbeat if the stream was quiet for `interval`.
  virtual void Heartbeat(absl::Time now, absl::Duration interval) = 0;
  // Ends the stream with `status` once the write in flight is done.
  virtual void FinishWith(grpc::Status status) = 0;
  // Something is pending: write it unless a write is in flight. Called on a
  // wake thread after StreamHub::Wake.
  virtual void OnWake() = 0;
};

class StreamHub {
 public:
  // `wake_threads` run OnWake of the streams woken by Wake.
  explicit StreamHub(absl::Duration heartbeat_interval, int wake_threads = 2);
  // Shuts down, waits up to 10 s for the streams to end, stops the threads.
  ~StreamHub();

  // Adds a stream; while shutting down it is finished at once.
  void Register(HubStream* stream);
  // Removes a stream: drops a pending wake-up and waits for a running
  // OnWake of it to return, so the stream may be deleted afterwards.
  void Unregister(HubStream* stream);
  // Queues `stream` for OnWake on a wake thread; O(1), never blocks on the
  // stream. A stream already queued is queued once.
  void Wake(HubStream* stream);
  // Finishes every stream with UNAVAILABLE "server shutting down" and every
  // later one too. Call before grpc::Server::Shutdown. Idempotent.
  void Shutdown();
  bool shutting_down() const;
  size_t open_streams() const;

 private:
  void HeartbeatLoop();
  void WakeLoop();

  const absl::Duration heartbeat_interval_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<HubStream*> streams_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  // Wake-ups: a FIFO of streams; `woken_` says which entries are live (an
  // unregistered stream's entry is skipped), `waking_` counts running
  // OnWake calls per stream.
  absl::Mutex wake_mu_;
  std::deque<HubStream*> wake_queue_ ABSL_GUARDED_BY(wake_mu_);
  absl::flat_hash_set<HubStream*> woken_ ABSL_GUARDED_BY(wake_mu_);
  absl::flat_hash_map<HubStream*, int> waking_ ABSL_GUARDED_BY(wake_mu_);
  bool wake_stopping_ ABSL_GUARDED_BY(wake_mu_) = false;
  std::vector<std::thread> wake_threads_;
};

// `Wire` is what goes to gRPC: the message itself, or grpc::ByteBuffer for a
// raw method whose subclass encodes messages itself (EncodeLocked), e.g. to
// share bytes serialized once across streams.
template <typename Response, typename Wire = Response>
class QueuedWriter : public grpc::ServerWriteReactor<Wire>, public HubStream {
 public:
  void Heartbeat(absl::Time now, absl::Duration interval) override {
    absl::MutexLock lock(&mu_);
    if (in_flight_ || finishing_ || now - last_write_ < interval) return;
    ToProtoTime(absl::ToUnixMillis(now), NextLocked().mutable_heartbeat()->mutable_time());
    MaybeWriteLocked();
  }

  void FinishWith(grpc::Status status) override {
    absl::MutexLock lock(&mu_);
    FinishLocked(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    in_flight_ = false;
    if (finishing_) {  // Finish was deferred until this write completed
      DoFinishLocked();
      return;
    }
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    last_write_ = absl::Now();
    MaybeWriteLocked();
  }

  void OnWake() override { Notify(); }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&mu_);
      finishing_ = true;
    }
    Release();
    hub_->Unregister(this);
    delete this;
  }

 protected:
  explicit QueuedWriter(StreamHub* hub) : hub_(hub) {}

  // Call at the end of the subclass constructor, without mu_ held: registers
  // with the hub (which may finish the stream at once) and starts writing.
  void Start() {
    hub_->Register(this);
    Notify();
  }

  // Something is pending: have a wake thread write it (for publishers, which
  // must not do a stream's work on their own thread).
  void Wake() { hub_->Wake(this); }

  // Something is pending: write it unless a write is in flight.
  void Notify() {
    absl::MutexLock lock(&mu_);
    MaybeWriteLocked();
  }

  // A new message at the end of the queue.
  Response& NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queued_.emplace_back();
    return queued_.back();
  }

  // Turns pending changes into messages (NextLocked); called when the queue
  // is empty and nothing is in flight.
  virtual void DrainLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // Drops the subscription when the stream is done.
  virtual void Release() {}
  // Raw methods only: `message` with sequence number `sequence`, encoded.
  virtual Wire EncodeLocked(Response& message, uint64_t sequence)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    (void)message;
    (void)sequence;
    return Wire();
  }

  absl::Mutex mu_;

 private:
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (in_flight_ || finishing_) {
      if (finishing_ && !in_flight_ && !finished_) DoFinishLocked();
      return;
    }
    if (queued_.empty()) DrainLocked();
    if (queued_.empty()) return;
    current_ = std::move(queued_.front());
    queued_.pop_front();
    in_flight_ = true;
    if constexpr (std::is_same_v<Wire, Response>) {
      current_.set_sequence(++sequence_);
      this->StartWrite(&current_);
    } else {
      wire_ = EncodeLocked(current_, ++sequence_);
      this->StartWrite(&wire_);
    }
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return;
    finishing_ = true;
    final_status_ = std::move(status);
    if (!in_flight_) DoFinishLocked();  // else OnWriteDone finishes
  }

  void DoFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    this->Finish(final_status_);
  }

  StreamHub* const hub_;
  std::deque<Response> queued_ ABSL_GUARDED_BY(mu_);
  Response current_ ABSL_GUARDED_BY(mu_);  // alive until OnWriteDone
  struct Unused {};
  std::conditional_t<std::is_same_v<Wire, Response>, Unused, Wire> wire_
      ABSL_GUARDED_BY(mu_);  // raw methods: current_ encoded
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
  absl::Time last_write_ ABSL_GUARDED_BY(mu_) = absl::Now();
};

}  // namespace xctl::api
