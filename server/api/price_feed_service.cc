#include "server/api/price_feed_service.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "server/api/convert.h"
#include "server/api/status.h"
#include "server/common/error_reason.h"
#include "server/api/stream_hub.h"
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

class PriceStreamReactor final
    : public QueuedWriter<v1::StreamPricesResponse, grpc::ByteBuffer> {
 public:
  PriceStreamReactor(StreamHub* hub, PriceFeedService* service, PriceModule& prices,
                     std::vector<std::string> pairs, const std::vector<std::string>& unknown)
      : QueuedWriter(hub), service_(service) {
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
      if (!nothing_known) sub_ = prices.Subscribe(pairs, [this] { Wake(); });
      v1::PriceSnapshot* snap = NextLocked().mutable_snapshot();
      if (!nothing_known) {
        for (const TickPtr& t : prices.Snapshot(pairs)) {
          ToProto(*t, snap->add_ticks());
          if (t->stale) stale_.insert(t->pair);
        }
      }
    }
    Start();
  }

 private:
  // Takes what the subscription has into one update message (plus STALE /
  // RECOVERED status elements). A whole published batch (also one that
  // replaced what a lagging stream held) becomes a message with no payload
  // set, standing for the shared encoding queued in shared_.
  void DrainLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!sub_) return;
    TickBatch batch = sub_->Drain();
    if (batch.ticks.empty()) return;
    if (batch.whole) {
      std::shared_ptr<const PriceFeedService::EncodedBatch> encoded =
          service_->Encode(batch.whole);
      NextLocked();
      shared_.push_back({encoded, batch.conflated});
      if (encoded->any_stale || !stale_.empty()) QueueStaleChangesLocked(batch.ticks);
      return;
    }
    v1::PriceUpdate* update = NextLocked().mutable_update();
    update->set_conflated(batch.conflated);
    for (const TickPtr& t : batch.ticks) ToProto(*t, update->add_ticks());
    QueueStaleChangesLocked(batch.ticks);
  }

  void QueueStaleChangesLocked(const std::vector<TickPtr>& ticks)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::string> went_stale, recovered;
    for (const TickPtr& t : ticks) {
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

  grpc::ByteBuffer EncodeLocked(v1::StreamPricesResponse& message, uint64_t sequence) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    using google::protobuf::internal::WireFormatLite;
    using google::protobuf::io::CodedOutputStream;
    if (message.payload_case() == v1::StreamPricesResponse::PAYLOAD_NOT_SET) {
      // The envelope by hand: field 1 (sequence, varint), then field 3
      // (update, length-delimited) whose bytes are the shared encoding of
      // PriceUpdate.ticks, followed by this stream's PriceUpdate.conflated
      // (field 2, varint) when not 0: protobuf takes fields in any order.
      SharedUpdate shared = std::move(shared_.front());
      shared_.pop_front();
      const std::shared_ptr<const PriceFeedService::EncodedBatch>& encoded = shared.encoded;
      uint8_t trailer[16];
      uint8_t* trailer_end = trailer;
      if (shared.conflated > 0) {
        trailer_end = CodedOutputStream::WriteTagToArray(
            WireFormatLite::MakeTag(v1::PriceUpdate::kConflatedFieldNumber,
                                    WireFormatLite::WIRETYPE_VARINT),
            trailer_end);
        trailer_end = CodedOutputStream::WriteVarint64ToArray(shared.conflated, trailer_end);
      }
      const size_t trailer_size = static_cast<size_t>(trailer_end - trailer);
      uint8_t header[32];
      uint8_t* end = CodedOutputStream::WriteTagToArray(
          WireFormatLite::MakeTag(v1::StreamPricesResponse::kSequenceFieldNumber,
                                  WireFormatLite::WIRETYPE_VARINT),
          header);
      end = CodedOutputStream::WriteVarint64ToArray(sequence, end);
      end = CodedOutputStream::WriteTagToArray(
          WireFormatLite::MakeTag(v1::StreamPricesResponse::kUpdateFieldNumber,
                                  WireFormatLite::WIRETYPE_LENGTH_DELIMITED),
          end);
      end = CodedOutputStream::WriteVarint64ToArray(encoded->update.size() + trailer_size, end);
      grpc::Slice slices[3] = {grpc::Slice(header, static_cast<size_t>(end - header)),
                               encoded->update, grpc::Slice(trailer, trailer_size)};
      return grpc::ByteBuffer(slices, trailer_size > 0 ? 3 : 2);
    }
    message.set_sequence(sequence);
    grpc::ByteBuffer out;
    bool own_buffer = false;
    (void)grpc::SerializationTraits<v1::StreamPricesResponse>::Serialize(message, &out,
                                                                         &own_buffer);
    return out;
  }

  void Release() override {
    if (sub_) sub_->Cancel();  // frees the subscription at once
  }

  PriceFeedService* const service_;
  std::unique_ptr<Subscription> sub_;
  absl::flat_hash_set<std::string> stale_ ABSL_GUARDED_BY(mu_);
  // A queued message standing for a shared encoding, with this stream's
  // conflated count.
  struct SharedUpdate {
    std::shared_ptr<const PriceFeedService::EncodedBatch> encoded;
    uint64_t conflated = 0;
  };
  std::deque<SharedUpdate> shared_ ABSL_GUARDED_BY(mu_);
};

PriceFeedService::PriceFeedService(PriceModule& prices, Options options)
    : prices_(prices), auth_(options.auth), hub_(options.heartbeat_interval) {}

absl::Status PriceFeedService::Authorize(const grpc::CallbackServerContext* ctx) const {
  return auth_ ? auth_->Check(*ctx, Authorizer::Access::kRead, Authorizer::kMarketData)
               : absl::OkStatus();
}

PriceFeedService::~PriceFeedService() = default;

grpc::ServerUnaryReactor* PriceFeedService::GetPrice(grpc::CallbackServerContext* ctx,
                                                     const v1::GetPriceRequest* request,
                                                     v1::GetPriceResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  const std::string& pair = request->pair();
  if (absl::Status a = Authorize(ctx); !a.ok()) {
    reactor->Finish(ToGrpcStatus(a));
  } else if (absl::Status s = ValidateSymbol(pair); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
  } else if (!prices_.IsConfigured(pair)) {
    reactor->Finish(ToGrpcStatus(WithReason(
        absl::NotFoundError(absl::StrCat(pair, " is not a configured pair (configured: ",
                                         absl::StrJoin(prices_.pairs(), ", "), ")")),
        reason::kPairNotConfigured)));
  } else if (TickPtr tick = prices_.Latest(pair); !tick) {
    reactor->Finish(ToGrpcStatus(WithReason(
        absl::UnavailableError(absl::StrCat(
            "no price for ", pair, " yet: the ", prices_.source_name(),
            " price source has not delivered one since start; retry shortly")),
        reason::kPriceStale)));
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
  if (absl::Status a = Authorize(ctx); !a.ok()) {
    reactor->Finish(ToGrpcStatus(a));
    return reactor;
  }
  std::vector<std::string> known, unknown;
  if (absl::Status s = SplitPairs(prices_, request->pairs(), &known, &unknown); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  if (!unknown.empty()) {
    reactor->Finish(ToGrpcStatus(WithReason(
        absl::NotFoundError(
            absl::StrCat("not configured on this server: ", absl::StrJoin(unknown, ", "))),
        reason::kPairNotConfigured)));
    return reactor;
  }
  for (const TickPtr& t : prices_.Snapshot(known)) ToProto(*t, response->add_ticks());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* PriceFeedService::StreamPrices(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw_request) {
  using Refused = FinishedWriter<grpc::ByteBuffer>;
  if (absl::Status a = Authorize(ctx); !a.ok()) return new Refused(ToGrpcStatus(a));
  v1::StreamPricesRequest request;
  grpc::ByteBuffer copy(*raw_request);  // Deserialize consumes its buffer
  if (!grpc::SerializationTraits<v1::StreamPricesRequest>::Deserialize(&copy, &request).ok()) {
    return new Refused(ToGrpcStatus(absl::InvalidArgumentError(
        "the request is not a valid xctl.v1.StreamPricesRequest (malformed protobuf, or a "
        "string field that is not UTF-8)")));
  }
  std::vector<std::string> known, unknown;
  if (absl::Status s = SplitPairs(prices_, request.pairs(), &known, &unknown); !s.ok()) {
    return new Refused(ToGrpcStatus(s));
  }
  if (hub_.shutting_down()) {
    return new Refused(ToGrpcStatus(absl::UnavailableError("server shutting down")));
  }
  return new PriceStreamReactor(&hub_, this, prices_, std::move(known), unknown);
}

std::shared_ptr<const PriceFeedService::EncodedBatch> PriceFeedService::Encode(
    const std::shared_ptr<const std::vector<TickPtr>>& batch) {
  absl::MutexLock lock(&encode_mu_);
  for (const auto& e : encoded_) {
    if (e && e->batch == batch) return e;
  }
  auto encoded = std::make_shared<EncodedBatch>();
  encoded->batch = batch;
  v1::PriceUpdate update;
  for (const TickPtr& t : *batch) {
    ToProto(*t, update.add_ticks());
    encoded->any_stale = encoded->any_stale || t->stale;
  }
  encoded->update = grpc::Slice(update.SerializeAsString());
  encoded_[1] = std::move(encoded_[0]);
  encoded_[0] = std::move(encoded);
  ++batches_encoded_;
  return encoded_[0];
}

uint64_t PriceFeedService::batches_encoded() const {
  absl::MutexLock lock(&encode_mu_);
  return batches_encoded_;
}

void PriceFeedService::Shutdown() { hub_.Shutdown(); }

size_t PriceFeedService::open_streams() const { return hub_.open_streams(); }

}  // namespace xctl::api
