#include "server/cluster/cluster_prices.h"

#include <unistd.h>

#include <random>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/cluster/subjects.h"
#include "server/common/log.h"

namespace xctl::cluster {
namespace {

const std::string kLease(kPriceLeaderLease);


}  // namespace

std::string DefaultNodeId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    snprintf(host, sizeof(host), "host");
  }
  std::string clean;
  for (char* c = host; *c != '\0' && clean.size() < 64; ++c) {
    clean.push_back(*c > ' ' && *c < 127 ? *c : '_');
  }
  std::random_device rd;
  return absl::StrFormat("%s-%d-%06x", clean, static_cast<int>(getpid()), rd() & 0xffffff);
}

ClusterPrices::ClusterPrices(ClusterPricesOptions options, PriceModule& prices)
    : options_(std::move(options)), prices_(prices) {
  if (options_.node_id.empty()) options_.node_id = DefaultNodeId();
  max_batch_age_ = options_.max_batch_age > absl::ZeroDuration()
                       ? options_.max_batch_age
                       : absl::Milliseconds(static_cast<int64_t>(prices.config().interval_ms) *
                                            prices.config().stale_after_intervals);
}

absl::StatusOr<std::unique_ptr<ClusterPrices>> ClusterPrices::Start(ClusterPricesOptions options,
                                                                    PriceModule& prices) {
  std::unique_ptr<ClusterPrices> cp(new ClusterPrices(std::move(options), prices));
  if (absl::Status s = cp->Init(); !s.ok()) {
    if (cp->options_.install_fetch_gate) prices.SetFetchGate(nullptr);
    cp->Stop();
    return s;
  }
  return cp;
}

absl::Status ClusterPrices::Init() {
  if (options_.clock == nullptr) return absl::InvalidArgumentError("cluster prices: clock is required");
  auto table = LeaseTable::Open(options_.database_url, options_.lease_clock);
  if (!table.ok()) {
    return absl::Status(table.status().code(),
                        absl::StrCat("cluster leases: ", table.status().message()));
  }
  table_ = *std::move(table);

  NatsOptions nats = options_.nats;
  auto user_cb = nats.on_state_change;
  nats.on_state_change = [this, user_cb](NatsState state) {
    OnNatsState(state);
    if (user_cb) user_cb(state);
  };
  auto bus = NatsBus::Connect(options_.nats_url, absl::StrCat("xctld-", options_.node_id), nats);
  if (!bus.ok()) {
    return absl::Status(bus.status().code(), absl::StrCat("cluster: ", bus.status().message()));
  }
  bus_ = *std::move(bus);

  auto sub = bus_->Subscribe(kPriceBatchSubject, [this](absl::string_view, absl::string_view p) {
    OnBatch(p);
  });
  if (!sub.ok()) return sub.status();
  subscription_ = *std::move(sub);
  // The subscription is active on the server before anyone relies on it.
  if (absl::Status s = bus_->Flush(absl::Seconds(5)); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("cluster: NATS flush: ", s.message()));
  }

  if (options_.install_fetch_gate) prices_.SetFetchGate(fetch_gate());

  LeaseKeeperOptions ko;
  ko.holder = options_.node_id;
  ko.ttl = options_.lease_ttl;
  ko.clock = options_.clock;
  ko.on_gained = [this](const Lease& lease) {
    if (lease.name != kLease) return;
    spdlog::info("event=price_leader_gained node={} epoch={}", LogQuote(options_.node_id),
                 lease.epoch);
    prices_.PollSoon();  // fetch now, not at the next tick of the timer
  };
  ko.on_lost = [this](const std::string& name, int64_t epoch, LeaseLossReason reason) {
    if (name != kLease) return;
    spdlog::info("event=price_leader_lost node={} epoch={} reason={}", LogQuote(options_.node_id),
                 epoch, LeaseLossReasonName(reason));
  };
  keeper_ = std::make_unique<LeaseKeeper>(*table_, std::move(ko));
  keeper_ready_.store(true);
  if (bus_->connected()) keeper_->Want(kLease);
  if (absl::Status s = keeper_->Start(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("cluster: ", s.message()));
  }
  spdlog::info(
      "event=cluster_prices_started node={} nats={} lease_ttl_ms={} max_batch_age_ms={} "
      "publish_per_pair={}",
      LogQuote(options_.node_id), LogQuote(bus_->redacted_url()),
      absl::ToInt64Milliseconds(options_.lease_ttl), absl::ToInt64Milliseconds(max_batch_age_),
      options_.publish_per_pair);
  return absl::OkStatus();
}

ClusterPrices::~ClusterPrices() { Stop(); }

void ClusterPrices::Stop(bool release) {
  if (stopped_.exchange(true)) return;
  if (keeper_) keeper_->Stop(release);  // reports price_leader_lost (stopped)
  subscription_.reset();                // waits for a running OnBatch
  if (bus_) bus_->Close();
}

std::optional<int64_t> ClusterPrices::LeaderEpoch() const {
  if (stopped_.load() || !keeper_ready_.load()) return std::nullopt;
  return keeper_->HeldEpoch(kLease);
}

bool ClusterPrices::nats_connected() const { return bus_ && bus_->connected(); }

ClusterPrices::Stats ClusterPrices::stats() const {
  absl::MutexLock lock(&stats_mu_);
  return stats_;
}

void ClusterPrices::OnNatsState(NatsState state) {
  if (stopped_.load() || !keeper_ready_.load()) return;
  if (state == NatsState::kConnected) {
    keeper_->Want(kLease);
  } else {
    // Step down: a leader that cannot publish should let one that can lead.
    keeper_->Unwant(kLease);
  }
}

PriceModule::FetchSink ClusterPrices::Gate() {
  std::optional<int64_t> epoch = LeaderEpoch();
  if (!epoch) return {};
  if (!bus_->connected()) {
    absl::MutexLock lock(&pub_mu_);
    if (!paused_logged_) {
      spdlog::warn("event=price_leader_paused node={} reason=nats_disconnected",
                   LogQuote(options_.node_id));
      paused_logged_ = true;
    }
    return {};
  }
  return [this, e = *epoch](std::vector<Tick> ticks) { PublishTicks(e, std::move(ticks)); };
}

void ClusterPrices::PublishTicks(int64_t epoch, std::vector<Tick> ticks) {
  // The fetch took time: publish only if still the leader under that epoch
  // and connected (a buffered publish would arrive late).
  if (LeaderEpoch() != epoch || !bus_->connected()) {
    absl::MutexLock lock(&stats_mu_);
    ++stats_.fetches_not_published;
    return;
  }
  const int64_t now = options_.clock->NowMillis();
  std::vector<Tick> batch;
  batch.reserve(ticks.size());
  absl::flat_hash_set<std::string> seen;
  for (Tick& t : ticks) {
    if (!prices_.IsConfigured(t.pair) || !seen.insert(t.pair).second) continue;
    t.receive_time_ms = now;  // the leader's receive time
    t.stale = false;
    batch.push_back(std::move(t));
  }
  if (batch.empty()) return;

  uint64_t errors = 0;
  uint64_t published = 0;
  {
    absl::MutexLock lock(&pub_mu_);
    paused_logged_ = false;
    if (epoch != pub_epoch_) {
      pub_epoch_ = epoch;
      batch_sequence_ = 0;
      pair_sequence_.clear();
    }
    TickBatchHeader header{.publisher = options_.node_id,
                           .leader_epoch = epoch,
                           .batch_sequence = ++batch_sequence_,
                           .publish_time_ms = now};
    for (Tick& t : batch) t.sequence = header.batch_sequence;
    auto bytes = EncodeTickBatch(header, absl::MakeConstSpan(batch));
    absl::Status st = bytes.ok() ? bus_->Publish(kPriceBatchSubject, *bytes) : bytes.status();
    if (st.ok()) {
      ++published;
    } else {
      ++errors;
      spdlog::warn("event=price_publish_failed node={} error={}", LogQuote(options_.node_id),
                   LogQuote(st.ToString()));
    }
    if (options_.publish_per_pair) {
      for (const Tick& t : batch) {
        auto subject = PriceSubject(t.pair);
        if (!subject.ok()) continue;
        TickBatchHeader h = header;
        h.batch_sequence = ++pair_sequence_[t.pair];
        auto one = EncodeTickBatch(h, absl::MakeConstSpan(&t, 1));
        if (!one.ok() || !bus_->Publish(*subject, *one).ok()) ++errors;
      }
    }
  }
  absl::MutexLock lock(&stats_mu_);
  stats_.batches_published += published;
  stats_.publish_errors += errors;
}

void ClusterPrices::OnBatch(absl::string_view payload) {
  auto decoded = DecodeTickBatch(payload);
  if (!decoded.ok()) {
    {
      absl::MutexLock lock(&stats_mu_);
      ++stats_.batches_invalid;
    }
    const int64_t now = options_.clock->NowMillis();
    if (now - last_invalid_log_ms_ >= 10'000) {
      last_invalid_log_ms_ = now;
      spdlog::warn("event=price_batch_invalid error={}",
                   LogQuote(decoded.status().message()));
    }
    return;
  }
  const TickBatchHeader& h = decoded->header;
  TickBatchOrder::Verdict verdict = order_.Check(h);
  if (verdict != TickBatchOrder::Verdict::kApply) {
    absl::MutexLock lock(&stats_mu_);
    if (verdict == TickBatchOrder::Verdict::kStaleEpoch) {
      ++stats_.batches_stale_epoch;
      if (logged_stale_epoch_ != h.leader_epoch) {
        logged_stale_epoch_ = h.leader_epoch;
        spdlog::warn("event=price_batch_from_deposed_leader publisher={} epoch={} current_epoch={}",
                     LogQuote(h.publisher), h.leader_epoch, order_.epoch());
      }
    } else {
      ++stats_.batches_duplicate;
    }
    return;
  }
  // A batch that spent longer than the staleness limit on the way (for
  // example buffered through a NATS outage) must not look fresh here.
  const int64_t age_ms = options_.clock->NowMillis() - h.publish_time_ms;
  if (age_ms > absl::ToInt64Milliseconds(max_batch_age_)) {
    absl::MutexLock lock(&stats_mu_);
    ++stats_.batches_too_old;
    stats_.gaps = order_.gaps();
    return;
  }
  std::vector<Tick> ticks;
  ticks.reserve(decoded->ticks.size());
  for (Tick& t : decoded->ticks) {
    if (!t.stale) ticks.push_back(std::move(t));
  }
  // Ingest keeps the exchange time and stamps the local receive time.
  prices_.Ingest(std::move(ticks));
  absl::MutexLock lock(&stats_mu_);
  ++stats_.batches_applied;
  stats_.gaps = order_.gaps();
}

}  // namespace xctl::cluster
