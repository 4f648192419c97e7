#include "server/api/price_feed_service.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/api/convert.h"
#include "server/api/status.h"
#include "server/api/finished_writer.h"
#include "server/common/log.h"
#include "server/common/symbol.h"

namespace xctl::api {
namespace {

// Splits requested pairs into configured and unknown; INVALID_ARGUMENT for a
// malformed name.
absl::Status SplitPairs(const PriceModule& prices,
                        const google::protobuf::RepeatedPtrField<std::string>& requested,
                        std::vector<std::string>* known, std::vector<std::string>* unknown) {
  for (const std::string& p : requested) {
    if (absl::Status s = ValidateSymbol(p); !s.ok()) return s;
    (prices.IsConfigured(p) ? known : unknown)->push_back(p);
  }
  return absl::OkStatus();
}

}  // namespace

class PriceStreamReactor final : public grpc::ServerWriteReactor<v1::StreamPricesResponse> {
 public:
  PriceStreamReactor(PriceFeedService* service, std::vector<std::string> pairs,
                     const std::vector<std::string>& unknown)
      : service_(service) {
    {
    absl::MutexLock lock(&mu_);
    if (!unknown.empty()) {
      v1::StreamStatus* st = NextLocked().mutable_status();
      st->set_code("UNKNOWN_PAIR");
      st->set_message(absl::StrCat("not configured on this server: ",
                                   absl::StrJoin(unknown, ", ")));
      for (const auto& p : unknown) st->add_keys(p);
    }
    // Subscribe before the snapshot so no update falls between the two.
    bool nothing_known = pairs.empty() && !unknown.empty();
    if (!nothing_known) {
      sub_ = service_->prices_.Subscribe(pairs, [this] { Notify(); });
    }
    v1::PriceSnapshot* snap = NextLocked().mutable_snapshot();
    if (!nothing_known) {
      for (const TickPtr& t : service_->prices_.Snapshot(pairs)) {
        ToProto(*t, snap->add_ticks());
        if (t->stale) stale_.insert(t->pair);
      }
    }
    }
    // Without our lock held: Register may finish us at once (shutdown), and
    // the heartbeat thread takes the service lock before ours.
    service_->Register(this);
    Notify();
  }

  void Notify() {
    absl::MutexLock lock(&mu_);
    MaybeWriteLocked();
  }

  void Heartbeat(absl::Time now) {
    absl::MutexLock lock(&mu_);
    if (in_flight_ || finishing_ || now - last_write_ < service_->options_.heartbeat_interval) return;
    ToProtoTime(absl::ToUnixMillis(now), NextLocked().mutable_heartbeat()->mutable_time());
    MaybeWriteLocked();
  }

  void FinishWith(grpc::Status status) {
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

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&mu_);
      finishing_ = true;
    }
    if (sub_) sub_->Cancel();  // frees the subscription at once
    service_->Unregister(this);
    delete this;
  }

 private:
  v1::StreamPricesResponse& NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queued_.emplace_back();
    return queued_.back();
  }

  // Takes what the subscription has into one update message (plus STALE /
  // RECOVERED status elements).
  void DrainLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!sub_) return;
    TickBatch batch = sub_->Drain();
    if (batch.ticks.empty()) return;
    v1::PriceUpdate* update = NextLocked().mutable_update();
    update->set_conflated(batch.conflated);
    std::vector<std::string> went_stale, recovered;
    for (const TickPtr& t : batch.ticks) {
      ToProto(*t, update->add_ticks());
      if (t->stale && stale_.insert(t->pair).second) went_stale.push_back(t->pair);
      if (!t->stale && stale_.erase(t->pair)) recovered.push_back(t->pair);
    }
    for (auto* list : {&went_stale, &recovered}) {
      if (list->empty()) continue;
      v1::StreamStatus* st = NextLocked().mutable_status();
      bool stale = list == &went_stale;
      st->set_code(stale ? "STALE" : "RECOVERED");
      st->set_message(stale ? "no price update for the configured number of intervals; "
                              "showing the last good price"
                            : "prices are updating again");
      for (const auto& p : *list) st->add_keys(p);
    }
  }

  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (in_flight_ || finishing_) {
      if (finishing_ && !in_flight_ && !finished_) DoFinishLocked();
      return;
    }
    if (queued_.empty()) DrainLocked();
    if (queued_.empty()) return;
    current_ = std::move(queued_.front());
    queued_.pop_front();
    current_.set_sequence(++sequence_);
    in_flight_ = true;
    StartWrite(&current_);
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
    Finish(final_status_);
  }

  PriceFeedService* const service_;
  std::unique_ptr<Subscription> sub_;
  absl::Mutex mu_;
  std::deque<v1::StreamPricesResponse> queued_ ABSL_GUARDED_BY(mu_);
  v1::StreamPricesResponse current_ ABSL_GUARDED_BY(mu_);  // alive until OnWriteDone
  absl::flat_hash_set<std::string> stale_ ABSL_GUARDED_BY(mu_);
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
  absl::Time last_write_ ABSL_GUARDED_BY(mu_) = absl::Now();
};

PriceFeedService::PriceFeedService(PriceModule& prices, Options options)
    : prices_(prices), options_(options) {
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
}

PriceFeedService::~PriceFeedService() {
  Shutdown();
  {
    absl::MutexLock lock(&mu_);
    // Streams end in OnDone once the server has shut down; wait for them.
    mu_.AwaitWithTimeout(absl::Condition(
        +[](absl::flat_hash_set<PriceStreamReactor*>* s) { return s->empty(); }, &streams_),
        absl::Seconds(10));
  }
  heartbeat_thread_.join();
}

void PriceFeedService::HeartbeatLoop() {
  absl::MutexLock lock(&mu_);
  while (!shutting_down_) {
    mu_.AwaitWithTimeout(absl::Condition(&shutting_down_), absl::Seconds(1));
    if (shutting_down_) break;
    absl::Time now = absl::Now();
    for (PriceStreamReactor* r : streams_) r->Heartbeat(now);
  }
}

grpc::ServerUnaryReactor* PriceFeedService::GetPrice(grpc::CallbackServerContext* ctx,
                                                     const v1::GetPriceRequest* request,
                                                     v1::GetPriceResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  const std::string& pair = request->pair();
  if (absl::Status s = ValidateSymbol(pair); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
  } else if (!prices_.IsConfigured(pair)) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat(pair, " is not a configured pair (configured: ",
                     absl::StrJoin(prices_.pairs(), ", "), ")")));
  } else if (TickPtr tick = prices_.Latest(pair); !tick) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("no price for ", pair, " yet: the ", prices_.source_name(),
                     " price source has not delivered one since start; retry shortly")));
  } else {
    ToProto(*tick, response->mutable_tick());
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerUnaryReactor* PriceFeedService::ListPrices(grpc::CallbackServerContext* ctx,
                                                       const v1::ListPricesRequest* request,
                                                       v1::ListPricesResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  std::vector<std::string> known, unknown;
  if (absl::Status s = SplitPairs(prices_, request->pairs(), &known, &unknown); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  if (!unknown.empty()) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("not configured on this server: ", absl::StrJoin(unknown, ", "))));
    return reactor;
  }
  for (const TickPtr& t : prices_.Snapshot(known)) ToProto(*t, response->add_ticks());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<v1::StreamPricesResponse>* PriceFeedService::StreamPrices(
    grpc::CallbackServerContext* ctx, const v1::StreamPricesRequest* request) {
  std::vector<std::string> known, unknown;
  if (absl::Status s = SplitPairs(prices_, request->pairs(), &known, &unknown); !s.ok()) {
    return new FinishedWriter<v1::StreamPricesResponse>(ToGrpcStatus(s));
  }
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      return new FinishedWriter<v1::StreamPricesResponse>(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    }
  }
  return new PriceStreamReactor(this, std::move(known), unknown);
}

void PriceFeedService::Register(PriceStreamReactor* r) {
  absl::MutexLock lock(&mu_);
  streams_.insert(r);
  if (shutting_down_) {
    r->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }
}

void PriceFeedService::Unregister(PriceStreamReactor* r) {
  absl::MutexLock lock(&mu_);
  streams_.erase(r);
}

void PriceFeedService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  for (PriceStreamReactor* r : streams_) {
    r->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }
}

size_t PriceFeedService::open_streams() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

}  // namespace xctl::api
