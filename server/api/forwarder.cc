// Forwarder (forwarder.h): calls for strategies another instance runs, sent
// to their owner.
#include "server/api/forwarder.h"

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/api/status.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"

namespace xctl::api {
namespace {

// The first value of metadata `key`, or nullopt.
std::optional<std::string> Metadata(const grpc::ServerContext& ctx, absl::string_view key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

Forwarder::Forwarder(Options options) : options_(std::move(options)) {}

Forwarder::Stats Forwarder::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

Forwarder::Route Forwarder::First(const grpc::ServerContext& ctx,
                                  absl::string_view strategy_id) {
  std::optional<RemoteOwner> owner = options_.remote_owner(strategy_id);
  if (!owner) return {};  // runs here, or no live owner known: the local answer
  if (auto by = Metadata(ctx, kForwardedByMetadata)) {
    // Forwarded here by an instance that took this one for the owner: never
    // forwarded again. The sender retries once on the owner named.
    {
      absl::MutexLock lock(&mu_);
      ++stats_.loops_refused;
    }
    return Route{.answer = ToGrpcStatus(WithOwner(
        WithReason(absl::UnavailableError(absl::StrCat(
                       "strategy ", strategy_id, " runs on instance ", owner->node,
                       " (lease epoch ", owner->epoch, "), not on instance ", options_.node_id,
                       " to which instance ", LogQuote(*by),
                       " forwarded this request; it is not forwarded again: send it to ",
                       owner->node, " or retry")),
                   reason::kForwardedToNonOwner),
        owner->node))};
  }
  if (owner->address.empty()) return {};  // no address published: the local answer names it
  return Route{.owner = std::move(owner)};
}

Forwarder::Route Forwarder::After(absl::string_view strategy_id, const RemoteOwner& owner,
                                  int attempt, const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    ++stats_.forwarded;
  }
  if (status.ok()) return Route{.answer = status};
  std::optional<XctlErrorInfo> info = XctlErrorOf(status);
  if (!info) {
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return Route{.answer = status};
    // The owner did not answer at all (down, unreachable, restarting).
    {
      absl::MutexLock lock(&mu_);
      ++stats_.unreachable;
    }
    return Route{.answer = ToGrpcStatus(WithOwner(
        absl::UnavailableError(absl::StrCat(
            "strategy ", strategy_id, " runs on instance ", owner.node, " (lease epoch ",
            owner.epoch, ") at ", owner.address, ", which did not answer (", status.error_message(),
            "); retry (with the same client order id)")),
        owner.node))};
  }
  if (info->reason != reason::kForwardedToNonOwner || attempt > 0 || info->owner.empty() ||
      info->owner == owner.node) {
    return Route{.answer = status};  // the owner's answer, as it is
  }
  // The instance we took for the owner is not it any more and names the
  // new one: once more, there (or here, if it is this instance).
  if (info->owner == options_.node_id) return {};
  RemoteOwner next{.node = info->owner, .address = options_.member_address(info->owner)};
  if (auto mine = options_.remote_owner(strategy_id); mine && mine->node == next.node) {
    next.epoch = mine->epoch;
  }
  if (next.address.empty()) return Route{.answer = status};
  {
    absl::MutexLock lock(&mu_);
    ++stats_.retried;
  }
  spdlog::info("event=forward_retried strategy={} from={} to={}", strategy_id,
               LogQuote(owner.node), LogQuote(next.node));
  return Route{.owner = std::move(next)};
}

std::shared_ptr<Forwarder::Peer> Forwarder::PeerFor(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Peer>& peer = peers_[address];
  if (!peer) {
    peer = std::make_shared<Peer>();
    auto credentials = options_.tls ? grpc::SslCredentials(grpc::SslCredentialsOptions{})
                                    : grpc::InsecureChannelCredentials();
    peer->channel = grpc::CreateChannel(address, credentials);
    peer->control = v1::ExchangeControl::NewStub(peer->channel);
    peer->manager = v1::StrategyManager::NewStub(peer->channel);
  }
  return peer;
}

std::unique_ptr<grpc::ClientContext> Forwarder::ContextFor(
    const grpc::ServerContext& ctx) const {
  // The caller's deadline and cancellation go with the call (the effective
  // deadline is the earlier of the caller's and ours).
  std::unique_ptr<grpc::ClientContext> client = grpc::ClientContext::FromServerContext(ctx);
  client->set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options_.default_deadline));
  const auto& md = ctx.client_metadata();
  for (auto [it, end] = md.equal_range("authorization"); it != end; ++it) {
    client->AddMetadata("authorization", std::string(it->second.data(), it->second.size()));
  }
  client->AddMetadata(kForwardedByMetadata, options_.node_id);
  return client;
}

}  // namespace xctl::api
