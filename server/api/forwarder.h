// Forwarder: in cluster mode, a trade or strategy call for a strategy that
// another instance runs is sent on to that instance (its owner) over gRPC
// and its answer returned as if this instance had answered
// (docs/cluster.md, "Forwarding"; issue #18, item 2). Clients need no
// routing: any instance accepts any call.
//
// For each call the services (ExchangeControlService, StrategyManagerService)
// ask Forward() after checking the caller's token here:
//   - the strategy runs here, or no other live owner is known: nullopt, the
//     service answers locally (which names the owner or says why none is
//     live, as before);
//   - it runs on another instance whose address is known: the same request
//     goes there on a cached channel (one per address), with the caller's
//     deadline (propagated from the server context; 30 s when the caller
//     gave none) and cancellation, its `authorization` metadata and the
//     marker `x-xctl-forwarded-by: <this node>`. The owner's answer (status,
//     message, details, response) is returned unchanged;
//   - when that instance answers that it is not the owner any more
//     (FORWARDED_TO_NON_OWNER naming the new owner), the call is sent once
//     more, to the new owner (or answered here when that is this instance);
//     nothing ran on the refusing instance, so the retry is safe;
//   - a call that arrives with the marker for a strategy this instance does
//     not run is never forwarded again (no loops): UNAVAILABLE, reason
//     FORWARDED_TO_NON_OWNER, the owner in ErrorInfo metadata "owner".
// An owner that cannot be reached answers UNAVAILABLE naming it and its
// address. A `precheck` runs only when the call is about to be forwarded
// (SubmitSignal checks the signal secret there). Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/strategy/cluster_hooks.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl::api {

// The metadata key a forwarded call carries (value: the forwarding node).
inline constexpr char kForwardedByMetadata[] = "x-xctl-forwarded-by";

class Forwarder {
 public:
  struct Options {
    // This instance's node id (the marker's value, and messages).
    std::string node_id;
    // ClusterHooks::remote_owner and ::member_address (required).
    std::function<std::optional<RemoteOwner>(absl::string_view strategy_id)> remote_owner;
    std::function<std::string(absl::string_view node)> member_address;
    // The instances serve TLS (tls.cert_file set): channels use TLS with the
    // system's root certificates, checking the advertised host name.
    bool tls = false;
    // The deadline of a forwarded call whose caller set none.
    absl::Duration default_deadline = absl::Seconds(30);
  };
  explicit Forwarder(Options options);

  struct Stats {
    uint64_t forwarded = 0;      // calls sent to an owner (retries included)
    uint64_t retried = 0;        // sent again after the owner changed
    uint64_t loops_refused = 0;  // forwarded here for a strategy not run here
    uint64_t unreachable = 0;    // the owner did not answer (transport error)
  };
  Stats stats() const;

  // Checks run here before a call is forwarded (only then): an answer
  // refuses the call, nullopt lets it go.
  using Precheck = std::function<std::optional<grpc::Status>()>;

  // See the header comment: nullopt to answer locally, else the answer.
  // `strategy_id` must be valid (the service checked it).
  template <typename Stub, typename Request, typename Response>
  std::optional<grpc::Status> Forward(const grpc::ServerContext& ctx,
                                      absl::string_view strategy_id,
                                      grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                                      const Request& request, Response* response,
                                      const Precheck& precheck = {});

 private:
  struct Peer {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::ExchangeControl::Stub> control;
    std::unique_ptr<v1::StrategyManager::Stub> manager;
  };
  // What to do with a call: answer here (nullopt), refuse, or send to.
  struct Route {
    std::optional<grpc::Status> answer;
    std::optional<RemoteOwner> owner;
  };
  Route First(const grpc::ServerContext& ctx, absl::string_view strategy_id);
  // After `owner` answered `status` on attempt `attempt` (0 or 1): send
  // again to the returned owner, or answer (answer set), or answer here
  // (neither).
  Route After(absl::string_view strategy_id, const RemoteOwner& owner, int attempt,
              const grpc::Status& status);
  std::shared_ptr<Peer> PeerFor(const std::string& address);
  std::unique_ptr<grpc::ClientContext> ContextFor(const grpc::ServerContext& ctx) const;
  static v1::ExchangeControl::Stub* StubOf(Peer& p, v1::ExchangeControl::Stub*) {
    return p.control.get();
  }
  static v1::StrategyManager::Stub* StubOf(Peer& p, v1::StrategyManager::Stub*) {
    return p.manager.get();
  }

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Peer>> peers_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

template <typename Stub, typename Request, typename Response>
std::optional<grpc::Status> Forwarder::Forward(
    const grpc::ServerContext& ctx, absl::string_view strategy_id,
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, Response* response, const Precheck& precheck) {
  Route route = First(ctx, strategy_id);
  if (route.owner && precheck) {
    if (std::optional<grpc::Status> refused = precheck()) return refused;
  }
  for (int attempt = 0; route.owner; ++attempt) {
    const RemoteOwner owner = *route.owner;
    std::shared_ptr<Peer> peer = PeerFor(owner.address);
    std::unique_ptr<grpc::ClientContext> client = ContextFor(ctx);
    response->Clear();
    grpc::Status status =
        (StubOf(*peer, static_cast<Stub*>(nullptr))->*method)(client.get(), request, response);
    route = After(strategy_id, owner, attempt, status);
  }
  return route.answer;
}

// `forwarder->Forward(...)`, or nullopt (answer locally) without one.
template <typename Stub, typename Request, typename Response>
std::optional<grpc::Status> MaybeForward(
    Forwarder* forwarder, const grpc::ServerContext& ctx, absl::string_view strategy_id,
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, Response* response, const Forwarder::Precheck& precheck = {}) {
  if (forwarder == nullptr) return std::nullopt;
  return forwarder->Forward(ctx, strategy_id, method, request, response, precheck);
}

}  // namespace xctl::api
