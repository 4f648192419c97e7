// PriceFeedService: the gRPC face of the price module. GetPrice and ListPrices
// read the cache; StreamPrices sends a snapshot then one message per price
// batch, with one ServerWriteReactor per stream (no thread per stream), one
// write in flight, and the subscription conflating behind it, so a slow
// client never holds back the others or grows memory.
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

class PriceFeedService final : public v1::PriceFeed::CallbackService {
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
  grpc::ServerWriteReactor<v1::StreamPricesResponse>* StreamPrices(
      grpc::CallbackServerContext* ctx, const v1::StreamPricesRequest* request) override;

  // Finishes every open stream with UNAVAILABLE "server shutting down" and
  // refuses new ones. Call before grpc::Server::Shutdown.
  void Shutdown();

  size_t open_streams() const;

 private:
  absl::Status Authorize(const grpc::CallbackServerContext* ctx) const;

  PriceModule& prices_;
  const Authorizer* const auth_;
  StreamHub hub_;
};

}  // namespace xctl::api
