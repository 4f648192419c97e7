// ClusterFeed's lifetime (cluster_feed_impl.h): Start subscribes to NATS and
// the local feed and starts the worker, Stop undoes it; the stats. The
// publisher is in cluster_feed_publish.cc, the receiver and the remote cache
// in cluster_feed_cache.cc, the wire format in feed_codec.cc.
#include "server/cluster/cluster_feed.h"

#include <memory>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/cluster/cluster_feed_impl.h"
#include "server/cluster/subjects.h"
#include "server/common/log.h"

namespace xctl::cluster {

absl::StatusOr<std::unique_ptr<ClusterFeed>> ClusterFeed::Start(NatsBus& bus, ControlFeed& feed,
                                                                ClusterFeedOptions options) {
  if (absl::Status s = CheckFeedText(options.node_id, "cluster feed: node_id", true); !s.ok()) {
    return s;
  }
  if (!options.is_local) return absl::InvalidArgumentError("cluster feed: is_local is required");
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("cluster feed: clock is required");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->bus = &bus;
  impl->feed = &feed;
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(absl::GetCurrentTimeNanos()));
  do {
    impl->incarnation = rng();
  } while (impl->incarnation == 0);
  Impl* raw = impl.get();
  auto positions = bus.Subscribe(absl::StrCat(kPositionPrefix, ">"),
                                 [raw](absl::string_view subject, absl::string_view payload) {
                                   raw->OnPositions(subject, payload);
                                 });
  if (!positions.ok()) return positions.status();
  impl->position_nats_sub = *std::move(positions);
  auto kpis = bus.Subscribe(absl::StrCat(kKpiPrefix, ">"),
                            [raw](absl::string_view subject, absl::string_view payload) {
                              raw->OnKpis(subject, payload);
                            });
  if (!kpis.ok()) return kpis.status();
  impl->kpi_nats_sub = *std::move(kpis);
  if (absl::Status s = bus.Flush(absl::Seconds(5)); !s.ok()) return s;
  impl->local_sub = feed.Subscribe(FeedFilter{.include_closed = true}, /*positions=*/true,
                                   /*kpis=*/true, [raw] { raw->Wake(); });
  impl->worker = std::thread([raw] { raw->Run(); });
  spdlog::info("event=cluster_feed_started node={} refresh_ms={}", LogQuote(raw->options.node_id),
               absl::ToInt64Milliseconds(raw->options.refresh_interval));
  return std::unique_ptr<ClusterFeed>(new ClusterFeed(std::move(impl)));
}

ClusterFeed::ClusterFeed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClusterFeed::~ClusterFeed() { Stop(); }

void ClusterFeed::Stop() {
  if (impl_->position_nats_sub) impl_->position_nats_sub->Cancel();
  if (impl_->kpi_nats_sub) impl_->kpi_nats_sub->Cancel();
  if (impl_->local_sub) impl_->local_sub->Cancel();
  {
    absl::MutexLock lock(&impl_->work_mu);
    impl_->stopping = true;
  }
  if (impl_->worker.joinable()) impl_->worker.join();
}

ClusterFeed::Stats ClusterFeed::stats() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->stats;
}

const ClusterKpis& ClusterFeed::cluster_kpis() const { return impl_->cluster_kpis; }

}  // namespace xctl::cluster
