#include "server/api/grpc_listener.h"

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <climits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "server/api/parse_errors.h"
#include "server/api/transport_security.h"
#include "server/common/log.h"

namespace xctl::api {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

// The address a probe connects to: the listen host, or loopback for a
// wildcard host.
std::string ProbeHost(absl::string_view listen) {
  absl::string_view host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "*") return "127.0.0.1";
  if (host == "[::]") return "[::1]";
  return std::string(host);
}

// The connection limits (docs/security.md, "Connection floods"). gRPC 1.51
// has no cap on the number of connections (GRPC_ARG_MAX_ALLOWED_INCOMING_
// CONNECTIONS came later); the handshake timeout and the idle limit shed
// idle floods instead.
void AddLimits(grpc::ServerBuilder& builder, const ConnectionsConfig& c) {
  // gRPC turns SO_REUSEPORT on by default, which lets a second xctld bind
  // the same port and silently share the traffic. One server per port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, c.max_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, c.handshake_timeout_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, c.keepalive_time_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, c.keepalive_timeout_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, c.max_idle_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, c.max_age_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             c.max_age_grace_ms == 0 ? INT_MAX : c.max_age_grace_ms);
}

}  // namespace

GrpcListener::GrpcListener(Options options, std::vector<grpc::Service*> services,
                           std::shared_ptr<grpc::ServerCredentials> credentials,
                           std::shared_ptr<grpc::ChannelCredentials> probe_credentials)
    : options_(std::move(options)),
      services_(std::move(services)),
      credentials_(std::move(credentials)),
      probe_credentials_(std::move(probe_credentials)) {}

absl::StatusOr<std::unique_ptr<GrpcListener>> GrpcListener::Start(
    Options options, std::vector<grpc::Service*> services) {
  auto credentials = ServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  auto probe_credentials = ProbeCredentials(options.tls);
  std::unique_ptr<GrpcListener> listener(new GrpcListener(
      std::move(options), std::move(services), *std::move(credentials),
      std::move(probe_credentials)));
  absl::MutexLock lock(&listener->mu_);
  if (absl::Status built = listener->BuildLocked(listener->options_.listen); !built.ok()) {
    return built;
  }
  listener->probe_address_ =
      absl::StrCat(ProbeHost(listener->options_.listen), ":", listener->port_);
  return listener;
}

absl::Status GrpcListener::BuildLocked(const std::string& address) {
  grpc::ServerBuilder builder;
  AddLimits(builder, options_.connections);
  int port = 0;
  builder.AddListeningPort(address, credentials_, &port);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(MakeParseErrorInterceptorFactory());
  if (options_.rpc_metrics != nullptr) {
    interceptors.push_back(MakeRpcMetricsFactory(options_.rpc_metrics));
  }
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  for (grpc::Service* s : services_) builder.RegisterService(s);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address,
        ": the address is in use or not available on this machine"));
  }
  if (port_ == 0) port_ = port;  // a rebuild binds the same port
  return absl::OkStatus();
}

absl::Status GrpcListener::Rebuild() {
  absl::MutexLock lock(&mu_);
  if (!server_) return absl::FailedPreconditionError("the gRPC server is shut down");
  ShutdownLocked();
  const std::string address = absl::StrCat(
      options_.listen.substr(0, options_.listen.rfind(':')), ":", port_);
  return BuildLocked(address);
}

bool GrpcListener::Probe(absl::Duration timeout) const {
  grpc::ChannelArguments args;
  // A connection of its own: a shared subchannel would reuse a connection
  // accepted before the listener stopped, and answer.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("xctl.listener_probe", 1);
  auto channel = grpc::CreateCustomChannel(probe_address_, probe_credentials_, args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  grpc::Slice empty;  // an empty HealthCheckRequest (the whole server), as one message
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  // Any answer from the server (even NOT_SERVING or UNIMPLEMENTED) means it
  // accepted the connection; a deadline or an unreachable port means not.
  return status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
         status.error_code() != grpc::StatusCode::UNAVAILABLE;
}

void GrpcListener::ShutdownLocked() {
  if (!server_) return;
  server_->Shutdown(Deadline(options_.shutdown_grace));
  server_->Wait();
  server_.reset();
}

void GrpcListener::Shutdown() {
  absl::MutexLock lock(&mu_);
  ShutdownLocked();
}

}  // namespace xctl::api
