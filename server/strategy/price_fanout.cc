#include "server/strategy/price_fanout.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"

namespace xctl {

struct PriceFanout::Core {
  // pair -> the shard's strategies trading it. Copied on change, so a
  // callback reads its snapshot without the lock.
  using Index = absl::flat_hash_map<std::string, std::vector<StrategyEntryPtr>>;
  struct Shard {
    std::shared_ptr<const Index> index = std::make_shared<const Index>();
    int members = 0;
    std::unique_ptr<Subscription> subscription;
  };

  Core(PriceModule* p, Deliver d) : prices(p), deliver(std::move(d)) {}

  // A shard's callback (a dispatcher thread; never concurrently for one shard).
  void OnTicks(int shard, const std::vector<TickPtr>& ticks) {
    std::shared_ptr<const Index> index;
    {
      absl::MutexLock lock(&mu);
      if (closed) return;
      index = shards[shard].index;
    }
    // Each strategy's ticks, in batch order, strategies in order of first tick.
    std::vector<std::pair<StrategyEntry*, std::vector<TickPtr>>> out;
    absl::flat_hash_map<StrategyEntry*, size_t> slot;
    for (const TickPtr& t : ticks) {
      auto it = index->find(t->pair);
      if (it == index->end()) continue;
      for (const StrategyEntryPtr& e : it->second) {
        auto [s, fresh] = slot.try_emplace(e.get(), out.size());
        if (fresh) out.emplace_back(e.get(), std::vector<TickPtr>{});
        out[s->second].second.push_back(t);
      }
    }
    for (auto& [entry, mine] : out) deliver(*entry, mine);
  }

  void Join(int shard, const StrategyEntryPtr& entry, const std::vector<std::string>& pairs) {
    absl::MutexLock lock(&mu);
    Shard& s = shards[shard];
    auto next = std::make_shared<Index>(*s.index);
    for (const std::string& p : pairs) (*next)[p].push_back(entry);
    s.index = std::move(next);
    ++s.members;
    if (!s.subscription && !closed) {
      // SubscribeCallback never calls back on this thread.
      s.subscription = prices->SubscribeCallback(
          {}, [this, shard](const std::vector<TickPtr>& ticks) { OnTicks(shard, ticks); });
    }
  }

  void Leave(int shard, const StrategyEntry* entry, const std::vector<std::string>& pairs) {
    std::unique_ptr<Subscription> gone;
    {
      absl::MutexLock lock(&mu);
      Shard& s = shards[shard];
      auto next = std::make_shared<Index>(*s.index);
      for (const std::string& p : pairs) {
        auto it = next->find(p);
        if (it == next->end()) continue;
        auto& list = it->second;
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [entry](const StrategyEntryPtr& e) { return e.get() == entry; }),
                   list.end());
        if (list.empty()) next->erase(it);
      }
      s.index = std::move(next);
      if (--s.members == 0) gone = std::move(s.subscription);
    }
    gone.reset();  // waits for a running callback; outside the lock it takes
  }

  void Close() {
    std::vector<std::unique_ptr<Subscription>> gone;
    {
      absl::MutexLock lock(&mu);
      closed = true;
      for (Shard& s : shards) {
        if (s.subscription) gone.push_back(std::move(s.subscription));
      }
    }
    gone.clear();  // waits for running callbacks
  }

  PriceModule* const prices;
  const Deliver deliver;
  mutable absl::Mutex mu;
  Shard shards[kShards] ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
};

// One strategy's place in its shard; leaving on destruction.
class PriceFanout::Member final : public TickFeed {
 public:
  Member(std::shared_ptr<Core> core, int shard, const StrategyEntry* entry,
         std::vector<std::string> pairs)
      : core_(std::move(core)), shard_(shard), entry_(entry), pairs_(std::move(pairs)) {}
  ~Member() override { core_->Leave(shard_, entry_, pairs_); }

 private:
  const std::shared_ptr<Core> core_;
  const int shard_;
  const StrategyEntry* const entry_;
  const std::vector<std::string> pairs_;
};

PriceFanout::PriceFanout(PriceModule* prices, Deliver deliver)
    : core_(std::make_shared<Core>(prices, std::move(deliver))) {}

PriceFanout::~PriceFanout() { Close(); }

void PriceFanout::Close() { core_->Close(); }

std::unique_ptr<TickFeed> PriceFanout::Join(StrategyEntryPtr entry, const std::string& id,
                                            const std::vector<std::string>& pairs) {
  const int shard = static_cast<int>(absl::Hash<std::string>{}(id) % kShards);
  const StrategyEntry* raw = entry.get();
  core_->Join(shard, entry, pairs);
  return std::make_unique<Member>(core_, shard, raw, pairs);
}

int PriceFanout::subscribed_shards() const {
  absl::MutexLock lock(&core_->mu);
  int n = 0;
  for (const auto& s : core_->shards) n += s.subscription != nullptr;
  return n;
}

}  // namespace xctl
