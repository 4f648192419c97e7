#include "server/api/server_app.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/api/pending_services.h"
#include "server/api/price_feed_service.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/price/price_module.h"
#include "server/store/store.h"

namespace xctl::api {
namespace {

class ServerAppImpl final : public ServerApp {
 public:
  explicit ServerAppImpl(const ServerConfig& config) : config_(config) {}
  ~ServerAppImpl() override { Shutdown(); }

  absl::Status Init() {
    spdlog::info("event=xctld_starting listen={} database={} price_source={} pairs={}",
                 config_.listen, LogQuote(RedactUrl(config_.database)),
                 config_.price.source, fmt::join(config_.price.pairs, ","));

    auto store = Store::Open(StoreOptions{.url = config_.database});
    if (!store.ok()) {
      return absl::Status(store.status().code(),
                          absl::StrCat("database: ", store.status().message()));
    }
    store_ = *std::move(store);

    auto source = MakePriceSource(config_.price);
    if (!source.ok()) {
      return absl::Status(source.status().code(),
                          absl::StrCat("price source: ", source.status().message()));
    }
    prices_ = std::make_unique<PriceModule>(config_.price, *std::move(source));
    prices_->Start();

    price_feed_ = std::make_unique<PriceFeedService>(*prices_);

    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    // gRPC turns SO_REUSEPORT on by default, which lets a second xctld bind
    // the same port and silently share the traffic. One server per port.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.AddListeningPort(config_.listen, grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(price_feed_.get());
    builder.RegisterService(&exchange_control_);
    builder.RegisterService(&strategy_manager_);
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) {
      server_.reset();
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", config_.listen,
          ": the address is in use or not available on this machine"));
    }
    spdlog::info("event=xctld_serving listen={} port={}", config_.listen, port_);
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  void Shutdown() override {
    if (stopped_) return;
    stopped_ = true;
    if (server_) {
      server_->GetHealthCheckService()->SetServingStatus(false);
      // Open streams first, or Server::Shutdown waits for them forever.
      if (price_feed_) price_feed_->Shutdown();
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(config_.shutdown_grace_ms));
      server_->Wait();
    }
    if (prices_) prices_->Stop();
    server_.reset();
    price_feed_.reset();
    prices_.reset();
    store_.reset();
  }

 private:
  ServerConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PriceModule> prices_;
  std::unique_ptr<PriceFeedService> price_feed_;
  PendingExchangeControlService exchange_control_;
  PendingStrategyManagerService strategy_manager_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServerApp>> ServerApp::Start(
    const ServerConfig& config) {
  auto app = std::make_unique<ServerAppImpl>(config);
  XCTL_RETURN_IF_ERROR(app->Init());
  return app;
}

}  // namespace xctl::api
