#include "server/app/server_app.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "server/api/auth.h"
#include "server/api/exchange_control_service.h"
#include "server/api/fd_limit.h"
#include "server/api/forwarder.h"
#include "server/api/grpc_listener.h"
#include "server/api/health_service.h"
#include "server/api/listen_queue.h"
#include "server/api/listener_watchdog.h"
#include "server/api/price_feed_service.h"
#include "server/api/rpc_metrics.h"
#include "server/api/server_metrics.h"
#include "server/api/strategy_manager_service.h"
#include "server/app/instrument_loading.h"
#include "server/cluster/cluster_mode.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "server/exchange/blofin/rest_client.h"
#include "server/model/instruments.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/metrics/metrics_server.h"
#include "server/metrics/prometheus_telemetry.h"
#include "server/price/price_module.h"
#include "server/store/store.h"
#include "server/strategy/credentials_cipher.h"
#include "server/strategy/master_key.h"
#include "server/strategy/registry.h"
#include "server/strategy/strategy_manager.h"

namespace xctl::app {
namespace {

// The gRPC side this root serves (server/api/).
using api::AcceptQueueLength;
using api::Authorizer;
using api::ExchangeControlService;
using api::FdsAvailable;
using api::GrpcListener;
using api::HealthProbes;
using api::HealthService;
using api::ListenerWatchdog;
using api::MakeServerCollector;
using api::PriceFeedService;
using api::RpcMetrics;
using api::StrategyManagerService;

// Where the other cluster members reach this instance's gRPC port
// (docs/cluster.md, "Forwarding"): cluster.advertise_address, else the listen
// host with the bound port (a wildcard host becomes this machine's name).
std::string AdvertisedAddress(const ServerConfig& config, int port) {
  if (!config.cluster.advertise_address.empty()) return config.cluster.advertise_address;
  const size_t colon = config.listen.rfind(':');
  std::string host = colon == std::string::npos ? std::string() : config.listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    char name[256] = {};
    host = gethostname(name, sizeof(name) - 1) == 0 && name[0] != 0 ? name : "localhost";
  }
  return absl::StrCat(host, ":", port);
}

class ServerAppImpl final : public ServerApp {
 public:
  explicit ServerAppImpl(const ServerConfig& config) : config_(config) {}
  ~ServerAppImpl() override { Shutdown(); }

  absl::Status Init() {
    XCTL_RETURN_IF_ERROR(StartMetrics());
    spdlog::info("event=xctld_starting listen={} database={} price_source={} pairs={}",
                 config_.listen, LogQuote(RedactUrl(config_.database)),
                 config_.price.source, fmt::join(config_.price.pairs, ","));

    auto store = Store::Open(StoreOptions{.url = config_.database, .telemetry = telemetry_.get()});
    if (!store.ok()) {
      return absl::Status(store.status().code(),
                          absl::StrCat("database: ", store.status().message()));
    }
    store_ = *std::move(store);

    config_.price.blofin_requests_per_minute = config_.blofin.requests_per_minute;
    auto source = MakePriceSource(config_.price);
    if (!source.ok()) {
      return absl::Status(source.status().code(),
                          absl::StrCat("price source: ", source.status().message()));
    }
    prices_ = std::make_unique<PriceModule>(config_.price, *std::move(source));
    if (telemetry_) prices_->SetTelemetry(telemetry_.get());
    auto auth = Authorizer::Create(config_.auth);
    if (!auth.ok()) return auth.status();
    auth_ = *std::move(auth);
    if (!auth_.enabled() && !IsLoopbackListen(config_.listen)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen: ", config_.listen, " is reachable from other machines, and no auth.tokens "
          "are configured: add tokens (docs/security.md) or listen on 127.0.0.1"));
    }
    if (!auth_.enabled()) {
      spdlog::warn("event=auth_disabled listen={} note={}", config_.listen,
                   LogQuote("no auth.tokens: every local client may trade; loopback only"));
    }
    price_feed_ = std::make_unique<PriceFeedService>(
        *prices_, PriceFeedService::Options{.auth = &auth_});

    LoadInstruments(config_, instruments_, tiers_);
    blofin::RestOptions rest;
    rest.base_url = config_.blofin.url;
    rest.ws_private_url = config_.blofin.ws_private_url;
    rest.ws_ping_after_ms = config_.blofin.ws_ping_after_ms;
    rest.timeout_ms = config_.blofin.timeout_ms;
    rest.limits.per_minute = config_.blofin.requests_per_minute;
    factory_ = std::make_unique<DefaultExchangeFactory>(
        DefaultExchangeFactory::Deps{store_.get(), prices_.get(), &instruments_, &SystemClock(),
                                     /*live_catalog=*/&instruments_, /*funding=*/prices_.get(),
                                     /*tiers=*/&tiers_, /*telemetry=*/telemetry_.get()},
        rest);
    portfolio_ = std::make_unique<Portfolio>(
        Portfolio::Deps{store_.get(), prices_.get(), &instruments_, &SystemClock()});
    control_ = std::make_unique<OrderRouter>(
        OrderRouter::Deps{store_.get(), factory_.get(), portfolio_.get()});

    XCTL_RETURN_IF_ERROR(RegisterBuiltinStrategies(registry_));
    // The master key (server/strategy/master_key.h): never silently replaced
    // while stored credentials need it; a key file open to others refused.
    MasterKeyOptions key_options{.key_file = KeyFile(),
                                 .forget_credentials = config_.forget_credentials};
    for (const StrategyConfig& c : config_.strategies) {
      if (c.credentials_env) key_options.resupplied.push_back(c.id);
    }
    auto cipher = LoadMasterKey(*store_, key_options, SystemClock());
    if (!cipher.ok()) return cipher.status();
    cipher_ = *std::move(cipher);
    strategies_ = std::make_unique<StrategyManager>(store_.get(), control_.get(), prices_.get(),
                                                    &registry_, cipher_.get(), &SystemClock());
    if (telemetry_) strategies_->SetTelemetry(telemetry_.get());
    // Cluster mode (docs/cluster.md): its hooks go in before anything starts.
    if (config_.cluster.enabled()) {
      auto cluster = cluster::ClusterMode::Start(
          config_, cluster::ClusterTargets{.prices = prices_.get(),
                                           .router = control_.get(),
                                           .portfolio = portfolio_.get(),
                                           .strategies = strategies_.get()});
      if (!cluster.ok()) return cluster.status();
      cluster_ = *std::move(cluster);
    }
    prices_->Start();
    control_->Start(prices_.get());
    ExchangeControlService::Options control_options{.configured_pairs = config_.price.pairs,
                                                    .auth = &auth_};
    if (cluster_) {
      // Calls for strategies other instances run go to them
      // (docs/cluster.md, "Forwarding").
      forwarder_ = std::make_unique<api::Forwarder>(
          api::Forwarder::Options{.node_id = cluster_->node_id(),
                                  .remote_owner = cluster_->hooks().remote_owner,
                                  .member_address = cluster_->hooks().member_address,
                                  .tls = !config_.tls.cert_file.empty()});
      control_options.forwarder = forwarder_.get();
      control_options.remote_positions = cluster_->hooks().remote_positions;
      control_options.remote_kpis = cluster_->hooks().remote_kpis;
      control_options.cluster_kpis = cluster_->hooks().cluster_kpis;
    }
    control_service_ = std::make_unique<ExchangeControlService>(
        *control_, *portfolio_, instruments_, std::move(control_options));
    if (absl::Status started = strategies_->Start(config_.strategies); !started.ok()) {
      return absl::Status(started.code(), absl::StrCat("strategies: ", started.message()));
    }
    if (cluster_) XCTL_RETURN_IF_ERROR(cluster_->Run());
    // Strategies FAILED for a passing cause (BloFin unreachable at start) are
    // tried again with back-off (StrategyManager::RetryFailed).
    retry_thread_ = std::thread([this] {
      while (!retry_stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
        strategies_->RetryFailed();
      }
    });
    strategy_service_ =
        std::make_unique<StrategyManagerService>(*strategies_, &auth_, forwarder_.get());

    health_ = std::make_unique<HealthService>(
        HealthProbes{.prices = [this] { return PricesFresh(*prices_); },
                     .database = [this] { return store_->Ping(); }},
        SystemClock());
    if (metrics_) {
      metrics_->Add(MakeServerCollector({.prices = prices_.get(),
                                         .health = health_.get(),
                                         .clock = &SystemClock(),
                                         .cluster_prices = cluster_ ? cluster_->prices() : nullptr,
                                         .strategy_shards =
                                             cluster_ ? cluster_->shards() : nullptr,
                                         .forwarder = forwarder_.get()}));
    }
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    auto listener = GrpcListener::Start(
        GrpcListener::Options{.listen = config_.listen,
                              .tls = config_.tls,
                              .connections = config_.connections,
                              .shutdown_grace = absl::Milliseconds(config_.shutdown_grace_ms),
                              .rpc_metrics = rpc_metrics_.get()},
        {price_feed_.get(), control_service_.get(), strategy_service_.get(), health_.get()});
    if (!listener.ok()) return listener.status();
    listener_ = *std::move(listener);
    port_ = listener_->port();
    if (cluster_) cluster_->SetAdvertisedAddress(AdvertisedAddress(config_, port_));
    StartWatchdog();
    spdlog::info("event=xctld_serving listen={} port={}", config_.listen, port_);
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  int exit_code() const override { return exit_code_.load(); }

  void Shutdown() override {
    if (stopped_) return;
    stopped_ = true;
    if (metrics_) metrics_->Stop();  // its collectors read the modules stopped below
    if (watchdog_) watchdog_->Stop();  // before the listener: it may rebuild it
    if (listener_) {
      health_->SetShuttingDown();
      // Open streams first, or Server::Shutdown waits for them forever.
      if (price_feed_) price_feed_->Shutdown();
      if (control_service_) control_service_->Shutdown();
      listener_->Shutdown();
    }
    // Cluster mode: streams, price leadership, strategy leases handed over.
    if (cluster_) cluster_->Stop();
    retry_stop_.Notify();
    if (retry_thread_.joinable()) retry_thread_.join();
    if (strategies_) strategies_->Shutdown();
    if (control_) control_->Stop();
    if (prices_) prices_->Stop();
    watchdog_.reset();
    listener_.reset();
    metrics_.reset();  // its collectors read health_ and prices_
    rpc_metrics_.reset();
    health_.reset();
    strategy_service_.reset();
    strategies_.reset();
    control_service_.reset();
    forwarder_.reset();  // after both services
    control_.reset();
    cluster_.reset();  // after control_ (its trade gate) and prices_->Stop() (its fetch gate)
    factory_.reset();
    price_feed_.reset();
    prices_.reset();
    store_.reset();
  }

 private:
  // The configured key file; by default beside the SQLite database, or
  // kDefaultKeyFile for PostgreSQL (an absolute path: the key must not
  // depend on the folder xctld happens to start in).
  std::string KeyFile() const {
    if (!config_.key_file.empty()) return config_.key_file;
    absl::string_view db = config_.database;
    if (absl::ConsumePrefix(&db, "sqlite:")) {
      const size_t slash = db.rfind('/');
      return absl::StrCat(slash == absl::string_view::npos ? "." : db.substr(0, slash),
                          "/xctl.key");
    }
    return kDefaultKeyFile;
  }
  static constexpr char kDefaultKeyFile[] = "/var/lib/xctl/xctl.key";

  // The listener watchdog (listener_watchdog.h), unless turned off. When
  // the listener cannot be rebuilt, xctld stops as on SIGTERM (strategies,
  // exchanges and the store shut down in order) and exits kExitListenerLost.
  void StartWatchdog() {
    const ConnectionsConfig& c = config_.connections;
    if (c.watchdog_interval_ms == 0) {
      spdlog::warn("event=listener_watchdog_off");
      return;
    }
    GrpcListener* listener = listener_.get();
    const absl::Duration timeout = absl::Milliseconds(c.watchdog_timeout_ms);
    const int reserve = c.fd_reserve;
    watchdog_ = std::make_unique<ListenerWatchdog>(
        ListenerWatchdog::Options{.interval = absl::Milliseconds(c.watchdog_interval_ms),
                                  .failures = c.watchdog_failures},
        ListenerWatchdog::Deps{
            .probe = [listener, timeout] { return listener->Probe(timeout); },
            .accept_stuck = [listener] { return AcceptQueueLength(listener->port()) != 0; },
            .fds_available = [reserve] { return FdsAvailable(reserve); },
            .recover = [listener] { return listener->Rebuild(); },
            .give_up =
                [this](const absl::Status&) {
                  exit_code_ = kExitListenerLost;
                  kill(getpid(), SIGTERM);  // main's sigwait: the usual clean stop
                },
            .clock = &SystemClock()});
    watchdog_->Start();
  }

  // The Prometheus endpoint when metrics.listen is set (docs/operations.md,
  // "Monitoring"), first of all, so the modules can report into telemetry_:
  // RPCs through the listener's interceptor, durations, orders and fills
  // through telemetry_, the rest read at scrape time (the collector is
  // added once the modules exist).
  absl::Status StartMetrics() {
    if (config_.metrics.listen.empty()) return absl::OkStatus();
    XCTL_ASSIGN_OR_RETURN(metrics_, metrics::MetricsServer::Start(config_.metrics.listen));
    rpc_metrics_ = std::make_unique<RpcMetrics>(metrics_->registry(), SystemClock());
    telemetry_ = std::make_unique<metrics::PrometheusTelemetry>();
    metrics_->Add(telemetry_->registry());
    return absl::OkStatus();
  }

  // OK when every configured pair has a price that is not stale.
  static absl::Status PricesFresh(const PriceModule& prices) {
    for (const std::string& pair : prices.pairs()) {
      TickPtr tick = prices.Latest(pair);
      if (tick == nullptr) return absl::UnavailableError(absl::StrCat(pair, ": no price yet"));
      if (tick->stale) return absl::UnavailableError(absl::StrCat(pair, ": price is stale"));
    }
    return absl::OkStatus();
  }

  ServerConfig config_;
  // metrics.listen only. First: the modules report into it until they are
  // destroyed.
  std::unique_ptr<metrics::PrometheusTelemetry> telemetry_;
  Authorizer auth_;
  InstrumentCatalog instruments_;
  TierCatalog tiers_;
  std::unique_ptr<DefaultExchangeFactory> factory_;
  std::unique_ptr<Portfolio> portfolio_;  // outlives control_ (the OrderRouter)
  std::unique_ptr<OrderRouter> control_;
  std::unique_ptr<api::Forwarder> forwarder_;  // --cluster only; outlives the services
  std::unique_ptr<ExchangeControlService> control_service_;
  StrategyRegistry registry_;
  std::unique_ptr<CredentialsCipher> cipher_;
  std::unique_ptr<StrategyManager> strategies_;
  std::unique_ptr<StrategyManagerService> strategy_service_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PriceModule> prices_;
  std::unique_ptr<cluster::ClusterMode> cluster_;  // --cluster only
  std::unique_ptr<PriceFeedService> price_feed_;
  std::unique_ptr<HealthService> health_;  // outlives listener_ and metrics_
  std::unique_ptr<metrics::MetricsServer> metrics_;  // metrics.listen only
  std::unique_ptr<RpcMetrics> rpc_metrics_;          // outlives listener_
  std::unique_ptr<GrpcListener> listener_;
  std::unique_ptr<ListenerWatchdog> watchdog_;  // after listener_: destroyed first
  std::atomic<int> exit_code_ = 0;
  absl::Notification retry_stop_;
  std::thread retry_thread_;
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

}  // namespace xctl::app
