// PriceModule: the one place in xctl that gets prices. It polls its
// PriceSource once per interval for every configured pair (one upstream
// request whatever the number of consumers), caches the latest tick per pair,
// flags pairs that stopped updating as stale, and publishes every change to
// its subscribers through an in-process bus.
//
// The bus never blocks on a subscriber: each subscription holds at most one
// pending tick per pair; a newer tick replaces an undelivered one (conflation)
// and is counted. Subscribers are either pull-style (Subscribe: the owner is
// told when something is pending and drains it, as gRPC streams do) or
// callback-style (SubscribeCallback: called on the module's dispatcher
// threads, isolated so one that throws or is slow cannot stop the others).
//
// It does not place orders, store anything, or know about gRPC.
//
// Cluster mode (docs/cluster.md) uses one hook, SetFetchGate: before each
// poll the gate says whether this instance fetches at all (only the price
// leader does) and where the fetched ticks go (the leader's NATS publisher
// instead of Ingest). Every instance keeps its poll timer for CheckStaleness
// and ingests what arrives from NATS through Ingest. A pushing source
// (blofin-ws) runs its push only while the gate returns a sink, and its
// ticks go to that sink: only the leader holds the connection. Without a
// gate nothing changes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/common/telemetry.h"
#include "server/price/funding_rates.h"
#include "server/price/price_config.h"
#include "server/price/price_source.h"
#include "server/price/price_view.h"
#include "server/price/subscription.h"

namespace xctl {

class PriceModule : public PriceView, public FundingRateView {
 public:
  struct Stats {
    uint64_t fetches = 0;         // calls to the source
    uint64_t fetch_errors = 0;    // of which failed
    uint64_t published = 0;       // batches published
    uint64_t ticks_changed = 0;   // ticks that changed the cache
  };

  // `config` must have passed ValidatePriceConfig. `dispatcher_threads` run
  // callback subscribers.
  PriceModule(const PriceConfig& config, std::unique_ptr<PriceSource> source,
              Clock& clock = SystemClock(), int dispatcher_threads = 2);
  ~PriceModule() override;

  // Starts the poll loop and the dispatcher threads, and, without a fetch
  // gate, a pushing source's push (PriceSource::StartPushing, into Ingest);
  // reports configured pairs the source does not list. Stop() ends them
  // (the push too, gated or not); both are idempotent.
  void Start();
  void Stop();

  // One poll: fetch, ingest, staleness check. The poll loop calls it; tests
  // call it directly (without Start) to step deterministically. With a fetch
  // gate (below), the fetch happens only when the gate returns a sink, and
  // the fetched ticks go to that sink instead of Ingest.
  void PollOnce();

  // Cluster-mode hook. `FetchGate` is called at the start of every poll, on
  // the poll thread: an empty FetchSink means "do not fetch" (the poll then
  // only checks staleness); otherwise the source is fetched and the ticks,
  // exactly as the source returned them (exchange timestamps, no receive
  // stamp), are handed to the sink, which must not block for long and must
  // not call PollOnce. Set it before Start(); not thread-safe against a
  // running poll loop.
  //
  // With a pushing source the gate also decides the push, on the poll
  // thread: a sink and no push running -> StartPushing; an empty sink and a
  // push running -> StopPushing (before the staleness check). While it runs,
  // pushed ticks go to the sink of the latest poll (the push thread calls
  // it, so it must be thread-safe), never to Ingest, and are dropped once a
  // poll got an empty sink. Start() does not start a gated push.
  using FetchSink = std::function<void(std::vector<Tick> ticks)>;
  using FetchGate = std::function<FetchSink()>;
  void SetFetchGate(FetchGate gate);

  // Where fetch durations are reported (server/common/telemetry.h); the
  // default reports nothing. Set it before Start(); `telemetry` must outlive
  // this module.
  void SetTelemetry(Telemetry* telemetry) { telemetry_ = telemetry; }

  // Runs the next poll now instead of at the next interval (used when this
  // instance becomes the price leader). Cheap; no-op when not started.
  void PollSoon();

  // Takes ticks from any source (the poll loop, or a pushing source): stamps
  // the receive time, keeps only configured pairs, updates the cache and
  // publishes the pairs whose prices changed as one batch.
  void Ingest(std::vector<Tick> ticks);

  // Marks pairs with no update for stale_after_intervals x interval as stale
  // and publishes them. Called by PollOnce.
  void CheckStaleness();

  // PriceView: the latest tick, nullptr before the first one.
  TickPtr Latest(absl::string_view pair) const override;

  // FundingRateView (docs/price.md, "Funding rates"): filled only when the
  // source has funding (BloFin). PollOnce reads every configured pair's rate
  // every kFundingRefreshMs, and again once a pair's settlement time has
  // passed (at most every kFundingRetryMs until BloFin names the next one).
  static constexpr int64_t kFundingRefreshMs = 5 * 60 * 1000;
  static constexpr int64_t kFundingRetryMs = 15 * 1000;
  std::vector<FundingRate> Settlements(absl::string_view pair, int64_t after_ms,
                                       int64_t until_ms) const override {
    return funding_.Settlements(pair, after_ms, until_ms);
  }
  std::optional<FundingRate> Current(absl::string_view pair) const override {
    return funding_.Current(pair);
  }

  // The latest ticks of `pairs` (empty: all configured) that have one.
  std::vector<TickPtr> Snapshot(const std::vector<std::string>& pairs = {}) const;

  bool IsConfigured(absl::string_view pair) const;
  const std::vector<std::string>& pairs() const { return config_.pairs; }
  const PriceConfig& config() const { return config_; }
  absl::string_view source_name() const { return source_->name(); }

  // A pull subscription to `pairs` (empty: all). `on_ready` is called, on the
  // publishing thread and never concurrently for one subscription, when the
  // subscription goes from nothing pending to something pending; it must not
  // block. Destroying the subscription unsubscribes at once.
  [[nodiscard]] std::unique_ptr<Subscription> Subscribe(
      std::vector<std::string> pairs, std::function<void()> on_ready);

  // A callback subscription: `callback` receives each batch of changed ticks
  // on a dispatcher thread; exceptions are caught and logged. Destroying the
  // returned handle unsubscribes (waiting for a running callback to return).
  using TickCallback = std::function<void(const std::vector<TickPtr>&)>;
  [[nodiscard]] std::unique_ptr<Subscription> SubscribeCallback(
      std::vector<std::string> pairs, TickCallback callback);

  Stats stats() const;
  size_t subscriber_count() const;
  // Ticks that subscribers never took because newer ones of the same pair
  // replaced them (conflation, subscription.h), over every subscriber this
  // module has had, the gone ones included.
  uint64_t conflated_total() const;

 private:
  struct PairState {
    TickPtr tick;
    int64_t last_seen_ms = 0;
  };
  class Dispatcher;

  void PollLoop();
  // With a gate and a pushing source: starts or stops the push to match
  // `sink` (poll thread).
  void GatePush(const FetchSink& sink);
  // The gated push's sink (push thread): hands `ticks` to push_sink_.
  void PushToGate(std::vector<Tick> ticks);
  // Stops a gated push if one runs; after the poll thread is gone.
  void StopGatedPush();
  // Reads the funding rates when due (see kFundingRefreshMs); poll thread.
  void MaybeFetchFunding();
  void Publish(std::vector<TickPtr> changed);
  void NoteSourceResult(const absl::Status& status);
  void Unsubscribe(SubscriptionState* state);

  const PriceConfig config_;
  const std::unique_ptr<PriceSource> source_;
  Clock& clock_;
  const absl::flat_hash_set<std::string> configured_;

  mutable absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, PairState> cache_ ABSL_GUARDED_BY(cache_mu_);
  Stats stats_ ABSL_GUARDED_BY(cache_mu_);
  std::string source_state_ ABSL_GUARDED_BY(cache_mu_);  // "" = healthy
  int64_t next_poll_not_before_ms_ ABSL_GUARDED_BY(cache_mu_) = 0;

  FetchGate fetch_gate_;  // empty outside cluster mode

  // The gated push (GatePush). Never held while calling the source:
  // StopPushing joins the push thread, which takes it in PushToGate.
  absl::Mutex push_mu_;
  FetchSink push_sink_ ABSL_GUARDED_BY(push_mu_);  // empty: drop pushes
  bool gated_pushing_ ABSL_GUARDED_BY(push_mu_) = false;
  Telemetry* telemetry_ = &NoTelemetry();

  FundingRateCache funding_;
  // Used by the polling thread only (PollOnce is never run concurrently).
  int64_t next_funding_fetch_ms_ = 0;
  int64_t last_funding_fetch_ms_ = 0;

  // Serializes Ingest/CheckStaleness publishers so batches are in order.
  absl::Mutex publish_mu_;

  mutable absl::Mutex subs_mu_;
  std::vector<std::shared_ptr<SubscriptionState>> subscribers_
      ABSL_GUARDED_BY(subs_mu_);
  // Conflated ticks of the subscribers gone.
  uint64_t retired_conflated_ ABSL_GUARDED_BY(subs_mu_) = 0;

  std::unique_ptr<Dispatcher> dispatcher_;
  absl::Mutex run_mu_;
  bool running_ ABSL_GUARDED_BY(run_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(run_mu_) = false;
  bool poll_soon_ ABSL_GUARDED_BY(run_mu_) = false;
  std::thread poll_thread_;
};

}  // namespace xctl
