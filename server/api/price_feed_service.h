// PriceFeedService: the gRPC face of the price module. GetPrice and ListPrices
// read the cache; StreamPrices sends a snapshot then one message per price
// batch, with one ServerWriteReactor per stream (no thread per stream), one
// write in flight, and the subscription conflating behind it, so a slow
// client never holds back the others or grows memory.
//
// Fan-out cost: StreamPrices is a raw method (bytes in, bytes out). A
// published batch that streams take whole (all-pairs streams that kept up)
// is serialized once as a PriceUpdate, and each stream writes only its own
// envelope (sequence number and field tag) in front of those shared bytes.
// The price bus only wakes a stream; the stream hub's wake threads write, so
// the price poll thread keeps its interval whatever the number of streams.
#pragma once

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/api/auth.h"
#include "server/api/stream_hub.h"
#include "server/price/price_module.h"
#include "xctl/v1/prices.grpc.pb.h"

namespace xctl::api {

class PriceFeedService final
    : public v1::PriceFeed::WithCallbackMethod_GetPrice<v1::PriceFeed::WithCallbackMethod_ListPrices<
          v1::PriceFeed::WithRawCallbackMethod_StreamPrices<v1::PriceFeed::Service>>> {
 public:
  struct Options {
    // A heartbeat is sent when a stream was quiet this long.
    absl::Duration heartbeat_interval = absl::Seconds(10);
    // Checks tokens when set (market data: any valid token, or anonymous
    // reads); must outlive the service.
    const Authorizer* auth = nullptr;
  };
  explicit PriceFeedService(PriceModule& prices) : PriceFeedService(prices, Options()) {}
  PriceFeedService(PriceModule& prices, Options options);
  ~PriceFeedService() override;

  grpc::ServerUnaryReactor* GetPrice(grpc::CallbackServerContext* ctx,
                                     const v1::GetPriceRequest* request,
                                     v1::GetPriceResponse* response) override;
  grpc::ServerUnaryReactor* ListPrices(grpc::CallbackServerContext* ctx,
                                       const v1::ListPricesRequest* request,
                                       v1::ListPricesResponse* response) override;
  // Raw: the request is parsed here (INVALID_ARGUMENT when it does not parse,
  // e.g. a string that is not UTF-8); responses are StreamPricesResponse.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamPrices(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* request) override;

  // Finishes every open stream with UNAVAILABLE "server shutting down" and
  // refuses new ones. Call before grpc::Server::Shutdown.
  void Shutdown();

  size_t open_streams() const;

  // A published batch serialized once as a PriceUpdate (conflated 0).
  struct EncodedBatch {
    std::shared_ptr<const std::vector<TickPtr>> batch;
    grpc::Slice update;     // the serialized PriceUpdate
    bool any_stale = false;  // some tick is flagged stale
  };
  // The encoding of `batch`, made by the first stream that asks and shared
  // with the others (the last two batches are kept).
  std::shared_ptr<const EncodedBatch> Encode(
      const std::shared_ptr<const std::vector<TickPtr>>& batch);
  // How many batches were serialized (a figure for tests and benchmarks).
  uint64_t batches_encoded() const;

 private:
  absl::Status Authorize(const grpc::CallbackServerContext* ctx) const;

  PriceModule& prices_;
  const Authorizer* const auth_;
  mutable absl::Mutex encode_mu_;
  std::shared_ptr<const EncodedBatch> encoded_[2] ABSL_GUARDED_BY(encode_mu_);
  uint64_t batches_encoded_ ABSL_GUARDED_BY(encode_mu_) = 0;
  StreamHub hub_;
};

}  // namespace xctl::api
