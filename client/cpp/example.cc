// xctl C++ client example: lists the open positions, then streams prices
// (snapshot, then updates). Built with the project (target
// xctl_cpp_example) and linked against the exported stubs, xctl::client.
//
//   build/client/cpp/xctl_cpp_example [HOST:PORT] [UPDATES]
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"

int main(int argc, char** argv) {
  const std::string server = argc > 1 ? argv[1] : "127.0.0.1:50051";
  const int updates = argc > 2 ? std::atoi(argv[2]) : 5;
  auto channel = grpc::CreateChannel(server, grpc::InsecureChannelCredentials());

  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    xctl::v1::ListPositionsRequest req;
    req.set_status(xctl::v1::POSITION_STATUS_OPEN);
    xctl::v1::ListPositionsResponse resp;
    grpc::Status st = xctl::v1::ExchangeControl::NewStub(channel)->ListPositions(&ctx, req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "xctl_cpp_example: %s\n", st.error_message().c_str());
      return 1;
    }
    std::printf("%d open positions\n", resp.positions_size());
    for (const auto& p : resp.positions()) {
      std::printf("  %s %s %s @ %s (unrealized %s)\n", p.strategy_id().c_str(), p.symbol().c_str(),
                  p.quantity().value().c_str(), p.open_price().value().c_str(),
                  p.unrealized_pnl().value().c_str());
    }
  }

  grpc::ClientContext ctx;
  auto reader = xctl::v1::PriceFeed::NewStub(channel)->StreamPrices(&ctx, {});
  xctl::v1::StreamPricesResponse msg;
  int seen = 0;
  while (seen <= updates && reader->Read(&msg)) {
    const auto* ticks = msg.has_snapshot() ? &msg.snapshot().ticks()
                        : msg.has_update() ? &msg.update().ticks()
                                           : nullptr;
    if (!ticks) continue;  // heartbeats and status elements
    if (msg.has_update()) ++seen;
    std::printf(msg.has_snapshot() ? "snapshot:\n" : "update %d:\n", seen);
    for (const auto& t : *ticks) {
      std::printf("  %s bid %s ask %s last %s\n", t.pair().c_str(), t.bid().value().c_str(),
                  t.ask().value().c_str(), t.last().value().c_str());
    }
  }
  ctx.TryCancel();
  return seen > updates ? 0 : 1;
}
