#include "server/price/price_module.h"

#include <algorithm>
#include <deque>
#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/common/log.h"

namespace xctl {

// Runs callback subscribers on a few threads. A subscription is queued at most
// once at a time (its on_ready fires only when it goes from empty to
// pending), so one subscriber's callbacks never run concurrently, and a slow
// one only delays itself: its ticks conflate meanwhile.
class PriceModule::Dispatcher {
 public:
  explicit Dispatcher(int threads) {
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] { Run(); });
    }
  }
  ~Dispatcher() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (auto& t : threads_) t.join();
  }

  struct Target {
    std::weak_ptr<SubscriptionState> state;
    TickCallback callback;
    // Held while the callback runs; cancellation takes it, so after the
    // handle is destroyed the callback is not running and never runs again.
    absl::Mutex run_mu;
    bool cancelled ABSL_GUARDED_BY(run_mu) = false;
  };

  void Enqueue(std::shared_ptr<Target> target) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(target));
  }

 private:
  void Run() {
    while (true) {
      std::shared_ptr<Target> target;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Dispatcher* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(d->mu_) {
              return d->stopping_ || !d->queue_.empty();
            },
            this));
        if (queue_.empty()) return;  // stopping
        target = std::move(queue_.front());
        queue_.pop_front();
      }
      absl::MutexLock run(&target->run_mu);
      if (target->cancelled) continue;
      std::shared_ptr<SubscriptionState> state = target->state.lock();
      if (!state) continue;
      TickBatch batch = state->Drain();
      if (batch.ticks.empty()) continue;
      try {
        target->callback(batch.ticks);
      } catch (const std::exception& e) {
        spdlog::error("event=price_subscriber_threw error={}", LogQuote(e.what()));
      } catch (...) {
        spdlog::error("event=price_subscriber_threw error=\"unknown exception\"");
      }
    }
  }

  absl::Mutex mu_;
  std::deque<std::shared_ptr<Target>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

PriceModule::PriceModule(const PriceConfig& config,
                         std::unique_ptr<PriceSource> source, Clock& clock,
                         int dispatcher_threads)
    : config_(config),
      source_(std::move(source)),
      clock_(clock),
      configured_(config.pairs.begin(), config.pairs.end()),
      dispatcher_(std::make_unique<Dispatcher>(dispatcher_threads)) {}

PriceModule::~PriceModule() {
  Stop();
  StopGatedPush();  // a push started by PollOnce without Start (tests)
  dispatcher_.reset();  // joins its threads before the members they use go
}

void PriceModule::Start() {
  {
    absl::MutexLock lock(&run_mu_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
  }
  auto listed = source_->ListedPairs();
  if (listed.ok() && !listed->empty()) {
    absl::flat_hash_set<std::string> known(listed->begin(), listed->end());
    std::vector<std::string> missing;
    for (const auto& p : config_.pairs) {
      if (!known.contains(p)) missing.push_back(p);
    }
    if (!missing.empty()) {
      spdlog::warn("event=price_pairs_not_listed source={} pairs={}",
                   source_->name(), absl::StrJoin(missing, ","));
    }
  } else if (!listed.ok()) {
    spdlog::warn("event=price_pairs_check_failed source={} error={}",
                 source_->name(), LogQuote(listed.status().message()));
  }
  spdlog::info("event=price_module_started source={} pairs={} interval_ms={}",
               source_->name(), absl::StrJoin(config_.pairs, ","),
               config_.interval_ms);
  if (source_->Pushes() && !fetch_gate_) {  // gated: PollOnce starts it on the leader
    source_->StartPushing(config_.pairs,
                          [this](std::vector<Tick> ticks) { Ingest(std::move(ticks)); });
  }
  poll_thread_ = std::thread([this] { PollLoop(); });
}

void PriceModule::Stop() {
  {
    absl::MutexLock lock(&run_mu_);
    if (!running_) return;
    stopping_ = true;
  }
  if (!fetch_gate_) source_->StopPushing();  // no Ingest from the source's thread after this
  if (poll_thread_.joinable()) poll_thread_.join();
  StopGatedPush();  // the poll thread is gone: nothing starts it again
  absl::MutexLock lock(&run_mu_);
  running_ = false;
}

void PriceModule::PollLoop() {
  const absl::Duration interval = absl::Milliseconds(config_.interval_ms);
  absl::Time next = clock_.Now();
  while (true) {
    PollOnce();
    int64_t backoff_ms;
    {
      absl::MutexLock lock(&cache_mu_);
      backoff_ms = next_poll_not_before_ms_ - clock_.NowMillis();
    }
    next += interval;
    absl::Time now = clock_.Now();
    if (next < now) next = now;  // a slow fetch does not cause a burst
    if (backoff_ms > 0) next = std::max(next, now + absl::Milliseconds(backoff_ms));
    absl::MutexLock lock(&run_mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_) {
      return stopping_ || poll_soon_;
    };
    clock_.AwaitWithDeadline(run_mu_, absl::Condition(&woken), next);
    if (stopping_) return;
    if (poll_soon_) {
      poll_soon_ = false;
      next = std::max(clock_.Now(), next - interval);  // keep the cadence from now on
    }
  }
}

void PriceModule::PollSoon() {
  absl::MutexLock lock(&run_mu_);
  if (running_ && !stopping_) poll_soon_ = true;
}

void PriceModule::SetFetchGate(FetchGate gate) { fetch_gate_ = std::move(gate); }

void PriceModule::PollOnce() {
  FetchSink sink;
  if (fetch_gate_) {
    sink = fetch_gate_();
    if (source_->Pushes()) GatePush(sink);
    if (!sink) {  // cluster follower: prices arrive through Ingest
      CheckStaleness();
      return;
    }
  }
  {
    absl::MutexLock lock(&cache_mu_);
    ++stats_.fetches;
  }
  const absl::Time fetch_start = clock_.Now();
  absl::StatusOr<std::vector<Tick>> ticks = source_->Fetch(config_.pairs);
  telemetry_->PriceFetch(clock_.Now() - fetch_start, ticks.ok());
  NoteSourceResult(ticks.status());
  if (ticks.ok()) {
    if (sink) {
      sink(*std::move(ticks));
    } else {
      Ingest(*std::move(ticks));
    }
  }
  MaybeFetchFunding();
  CheckStaleness();
}

void PriceModule::GatePush(const FetchSink& sink) {
  bool start = false;
  bool stop = false;
  {
    absl::MutexLock lock(&push_mu_);
    push_sink_ = sink;
    start = sink && !gated_pushing_;
    stop = !sink && gated_pushing_;
    gated_pushing_ = static_cast<bool>(sink);
  }
  if (start) {
    spdlog::info("event=price_push_started source={} reason=fetch_gate_open", source_->name());
    source_->StartPushing(config_.pairs,
                          [this](std::vector<Tick> ticks) { PushToGate(std::move(ticks)); });
  } else if (stop) {
    spdlog::info("event=price_push_stopped source={} reason=fetch_gate_closed", source_->name());
    source_->StopPushing();  // joins the push thread: push_mu_ is not held
  }
}

void PriceModule::PushToGate(std::vector<Tick> ticks) {
  FetchSink sink;
  {
    absl::MutexLock lock(&push_mu_);
    sink = push_sink_;
  }
  if (sink) sink(std::move(ticks));  // outside the lock: it may publish on NATS
}

void PriceModule::StopGatedPush() {
  {
    absl::MutexLock lock(&push_mu_);
    if (!gated_pushing_) return;
    gated_pushing_ = false;
    push_sink_ = nullptr;
  }
  source_->StopPushing();
}

void PriceModule::MaybeFetchFunding() {
  if (!source_->HasFunding()) return;
  const int64_t now = clock_.NowMillis();
  bool due = now >= next_funding_fetch_ms_;
  if (!due && now - last_funding_fetch_ms_ >= kFundingRetryMs) {
    // Just after a settlement: the next one's rate and time.
    for (const std::string& pair : config_.pairs) {
      std::optional<FundingRate> current = funding_.Current(pair);
      due = due || !current || current->funding_time_ms <= now;
    }
  }
  if (!due) return;
  last_funding_fetch_ms_ = now;
  next_funding_fetch_ms_ = now + kFundingRefreshMs;
  absl::StatusOr<std::vector<FundingRate>> rates = source_->FetchFundingRates(config_.pairs);
  if (!rates.ok()) {
    next_funding_fetch_ms_ = now + kFundingRetryMs;
    spdlog::warn("event=funding_rates_failed source={} error={}", source_->name(),
                 LogQuote(rates.status().message()));
    return;
  }
  for (const FundingRate& r : *rates) {
    if (configured_.contains(r.pair)) funding_.Put(r);
  }
}

void PriceModule::NoteSourceResult(const absl::Status& status) {
  absl::MutexLock lock(&cache_mu_);
  if (!status.ok()) {
    ++stats_.fetch_errors;
    if (status.code() == absl::StatusCode::kResourceExhausted) {
      int wait = std::max(source_->RetryAfterMs(), config_.interval_ms);
      next_poll_not_before_ms_ = clock_.NowMillis() + wait;
    }
  }
  std::string state = status.ok() ? "" : std::string(status.message());
  if (state == source_state_) return;  // one log line per change of state
  if (state.empty()) {
    spdlog::info("event=price_source_recovered source={}", source_->name());
  } else {
    spdlog::warn("event=price_source_error source={} code={} error={}",
                 source_->name(), absl::StatusCodeToString(status.code()),
                 LogQuote(state));
  }
  source_state_ = std::move(state);
}

void PriceModule::Ingest(std::vector<Tick> ticks) {
  absl::MutexLock publish(&publish_mu_);
  std::vector<TickPtr> changed;
  const int64_t now = clock_.NowMillis();
  const int64_t steady_now = SteadyMicros();
  {
    absl::MutexLock lock(&cache_mu_);
    for (Tick& tick : ticks) {
      if (!configured_.contains(tick.pair)) continue;
      PairState& state = cache_[tick.pair];
      state.last_seen_ms = now;
      if (state.tick && state.tick->SamePrices(tick) && !state.tick->stale) {
        continue;  // unchanged: not re-published
      }
      if (state.tick && state.tick->stale) {
        spdlog::info("event=price_pair_recovered pair={}", tick.pair);
      }
      tick.receive_time_ms = now;
      tick.published_steady_us = steady_now;
      tick.sequence = state.tick ? state.tick->sequence + 1 : 1;
      tick.stale = false;
      state.tick = std::make_shared<const Tick>(std::move(tick));
      changed.push_back(state.tick);
    }
    stats_.ticks_changed += changed.size();
    if (!changed.empty()) ++stats_.published;
  }
  if (!changed.empty()) Publish(std::move(changed));
}

void PriceModule::CheckStaleness() {
  absl::MutexLock publish(&publish_mu_);
  std::vector<TickPtr> changed;
  const int64_t now = clock_.NowMillis();
  const int64_t limit =
      static_cast<int64_t>(config_.stale_after_intervals) * config_.interval_ms;
  {
    absl::MutexLock lock(&cache_mu_);
    for (auto& [pair, state] : cache_) {
      if (!state.tick || state.tick->stale) continue;
      if (now - state.last_seen_ms <= limit) continue;
      auto stale = std::make_shared<Tick>(*state.tick);
      stale->stale = true;
      stale->published_steady_us = SteadyMicros();
      stale->sequence += 1;
      state.tick = stale;
      changed.push_back(state.tick);
      spdlog::warn("event=price_pair_stale pair={} last_update_ms_ago={}", pair,
                   now - state.last_seen_ms);
    }
    if (!changed.empty()) ++stats_.published;
  }
  if (!changed.empty()) Publish(std::move(changed));
}

void PriceModule::Publish(std::vector<TickPtr> changed) {
  std::vector<std::shared_ptr<SubscriptionState>> targets;
  {
    absl::MutexLock lock(&subs_mu_);
    targets = subscribers_;
  }
  // A batch with a tick of every configured pair replaces whatever a lagging
  // all-pairs subscriber still holds (SubscriptionState::Offer).
  bool covers_all = false;
  if (changed.size() >= configured_.size()) {
    absl::flat_hash_set<absl::string_view> seen;
    for (const TickPtr& t : changed) {
      if (configured_.contains(t->pair)) seen.insert(t->pair);
    }
    covers_all = seen.size() == configured_.size();
  }
  auto batch = std::make_shared<const std::vector<TickPtr>>(std::move(changed));
  for (const auto& s : targets) s->Offer(batch, covers_all);
}

TickPtr PriceModule::Latest(absl::string_view pair) const {
  absl::MutexLock lock(&cache_mu_);
  auto it = cache_.find(pair);
  return it == cache_.end() ? nullptr : it->second.tick;
}

std::vector<TickPtr> PriceModule::Snapshot(const std::vector<std::string>& pairs) const {
  const std::vector<std::string>& wanted = pairs.empty() ? config_.pairs : pairs;
  std::vector<TickPtr> out;
  absl::MutexLock lock(&cache_mu_);
  for (const auto& p : wanted) {
    auto it = cache_.find(p);
    if (it != cache_.end() && it->second.tick) out.push_back(it->second.tick);
  }
  return out;
}

bool PriceModule::IsConfigured(absl::string_view pair) const {
  return configured_.contains(pair);
}

std::unique_ptr<Subscription> PriceModule::Subscribe(
    std::vector<std::string> pairs, std::function<void()> on_ready) {
  auto state = std::make_shared<SubscriptionState>(std::move(pairs), std::move(on_ready));
  {
    absl::MutexLock lock(&subs_mu_);
    subscribers_.push_back(state);
  }
  return std::make_unique<Subscription>(
      state, [this](SubscriptionState* s) { Unsubscribe(s); });
}

std::unique_ptr<Subscription> PriceModule::SubscribeCallback(
    std::vector<std::string> pairs, TickCallback callback) {
  auto target = std::make_shared<Dispatcher::Target>();
  target->callback = std::move(callback);
  Dispatcher* dispatcher = dispatcher_.get();
  std::weak_ptr<Dispatcher::Target> weak_target = target;
  auto state = std::make_shared<SubscriptionState>(
      std::move(pairs), [dispatcher, weak_target] {
        if (auto t = weak_target.lock()) dispatcher->Enqueue(std::move(t));
      });
  target->state = state;
  {
    absl::MutexLock lock(&subs_mu_);
    subscribers_.push_back(state);
  }
  // The handle keeps the target alive; the dispatcher holds it only while a
  // batch is queued or running.
  return std::make_unique<Subscription>(
      state, [this, target](SubscriptionState* s) {
        Unsubscribe(s);
        absl::MutexLock run(&target->run_mu);  // waits for a running callback
        target->cancelled = true;
      });
}

void PriceModule::Unsubscribe(SubscriptionState* state) {
  absl::MutexLock lock(&subs_mu_);
  retired_conflated_ += state->total_conflated();
  subscribers_.erase(
      std::remove_if(subscribers_.begin(), subscribers_.end(),
                     [state](const auto& s) { return s.get() == state; }),
      subscribers_.end());
}

uint64_t PriceModule::conflated_total() const {
  absl::MutexLock lock(&subs_mu_);
  uint64_t total = retired_conflated_;
  for (const auto& s : subscribers_) total += s->total_conflated();
  return total;
}

PriceModule::Stats PriceModule::stats() const {
  absl::MutexLock lock(&cache_mu_);
  return stats_;
}

size_t PriceModule::subscriber_count() const {
  absl::MutexLock lock(&subs_mu_);
  return subscribers_.size();
}

}  // namespace xctl
