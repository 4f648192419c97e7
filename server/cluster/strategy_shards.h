// StrategyShards: strategies sharded across the instances of a cluster
// (docs/cluster.md, "Strategy sharding"). Each strategy is run by exactly one
// live instance at a time: the holder of its "strategy:<id>" lease in the
// shared database. Every instance also holds a "member:<holder>" lease, so
// each can count the live instances.
//
// One thread, every ttl/3 (sooner when a strategy is created here):
//  1. syncs the StrategyManager with the store (RefreshFromStore: the lease
//     candidates are the stored, undeleted strategies);
//  2. reads every member and strategy lease (one statement);
//  3. placement: wants at most ceil(strategies / live members) strategy
//     leases; keeps those it holds, tries unowned or expired ones (in an
//     order hashed by holder, so survivors rarely race for the same one), and
//     when it holds more than its share gives one back per round (stopping it
//     here first) so a joining instance gets work;
//  4. runs its LeaseKeeper (renew all in one statement, step down at the
//     local deadline, release, acquire) on this same thread; gained leases
//     go to StrategyManager::TakeOwnership, lost ones to DropOwnership.
//
// It is the manager's StrategyOwnership (CheckOwner: an in-memory epoch
// check on the owner, the owner's name and epoch as of the last round
// otherwise, read afresh only while a takeover is under way) and the exchange control's trade gate, so a deposed owner stops
// trading at its local deadline, before the database lets anyone else in.
//
// A dead instance's strategies are taken over after their leases expire:
// within ttl (expiry) + ttl/3 (the next round of a survivor) + one round per
// race lost to another survivor, plus loading the strategy.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cluster/lease.h"
#include "server/cluster/lease_keeper.h"
#include "server/common/clock.h"
#include "server/exchange/tenure.h"
#include "server/strategy/cluster_hooks.h"
#include "server/strategy/strategy_manager.h"

namespace xctl::cluster {

struct StrategyShardsOptions {
  // The shared database (PostgreSQL; SQLite works for tests on one host).
  // Its migrations must have run (open the Store first).
  std::string database_url;
  // This instance's node id (what a non-owner's answer names). The lease
  // holder is "<node_id>/strategies": distinct from the price leader's
  // holder (the node id), as two keepers must never share a holder id.
  std::string node_id;
  // TTL of the strategy and member leases; rounds run every ttl / 3.
  absl::Duration lease_ttl = absl::Seconds(3);
  // The lease keeper's deadlines and the rounds' timer (the leases
  // themselves are judged by the database's clock). Must outlive this.
  const Clock* clock = &SystemClock();
};

// "<node>/strategies" -> "<node>"; anything else unchanged.
std::string NodeOfShardsHolder(absl::string_view holder);

class StrategyShards final : public StrategyOwnership {
 public:
  struct Stats {
    uint64_t rounds = 0;
    uint64_t gained = 0;
    uint64_t lost = 0;
    uint64_t given_back = 0;    // released to balance
    int live_members = 0;       // as of the last round
    int candidates = 0;         // stored strategies, as of the last round
  };

  // Opens the lease table and a connection for the lease overview and
  // starts the thread; `manager` must have SetOwnership(this) before its
  // Start (the caller does this with the returned object, see cluster_mode.cc:
  // Create, then manager.SetOwnership, manager.Start, shards.Run). `manager`
  // must outlive this object.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<StrategyShards>> Create(
      StrategyShardsOptions options, StrategyManager& manager);
  // Stop().
  ~StrategyShards() override;
  StrategyShards(const StrategyShards&) = delete;
  StrategyShards& operator=(const StrategyShards&) = delete;

  // Starts the placement thread (after the manager's Start).
  [[nodiscard]] absl::Status Run();

  // Stops the thread and every strategy here (DropOwnership). With
  // `release` the leases are released so others take over within one round;
  // without, they are left to expire (what a crash looks like; tests).
  // Idempotent.
  void Stop(bool release = true);

  // StrategyOwnership.
  absl::Status CheckOwner(absl::string_view strategy_id) override;
  void Nominate(absl::string_view strategy_id) override;

  // This instance's gRPC address as other members reach it
  // (cluster.advertise_address, or derived from the listen address once the
  // listener is up). Upserted into cluster_members at the next round (woken
  // now), again after a failed attempt.
  void SetAdvertisedAddress(std::string address);
  // The live instance other than this one that holds the strategy's lease:
  // as of the last round (in memory), or, when that names no other live
  // holder of a stored strategy (a takeover or give-back under way), from
  // the lease row read afresh, as CheckOwner does. nullopt when this
  // instance holds it, is giving it back, or no other live holder is known
  // (then CheckOwner says why).
  std::optional<RemoteOwner> RemoteOwnerOf(absl::string_view strategy_id);
  // A live member's advertised address as of the last round; empty if none.
  std::string AddressOf(absl::string_view node) const;

  // The epoch while this instance holds the strategy's lease.
  std::optional<int64_t> HeldEpoch(absl::string_view strategy_id) const;
  // Exchange control's tenure source (OrderRouter::SetTenureSource): the
  // tenure this instance holds of the strategy's lease now, as a write fence
  // (idle timeout ttl/2) and a live-call check on the keeper's local
  // deadline; LEASE_LOST when it holds none. The Tenure refers to this
  // object's keeper: it must not outlive this object.
  absl::StatusOr<Tenure> TenureOf(absl::string_view strategy_id) const;
  // Strategy ids held now and handed to the manager, sorted.
  std::vector<std::string> Owned() const;
  const std::string& holder() const { return holder_; }
  const std::string& node_id() const { return options_.node_id; }
  Stats stats() const;

 private:
  struct Overview;
  class OverviewReader;

  StrategyShards(StrategyShardsOptions options, StrategyManager& manager);
  void Loop();
  void Round();
  void OnGained(const Lease& lease);
  void OnLost(const std::string& name, int64_t epoch, LeaseLossReason reason);

  StrategyShardsOptions options_;
  const std::string holder_;
  const std::string member_name_;
  StrategyManager& manager_;
  absl::Duration interval_;

  std::unique_ptr<LeaseTable> table_;
  std::unique_ptr<OverviewReader> reader_;
  std::unique_ptr<LeaseKeeper> keeper_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Strategy ids stored, as of the last round.
  absl::flat_hash_set<std::string> candidates_ ABSL_GUARDED_BY(mu_);
  // Until a round read the stored strategies, candidates_ says nothing:
  // trades are answered UNAVAILABLE, not passed on to exchange control (it
  // would call an existing strategy unknown, which clients take as final).
  bool read_once_ ABSL_GUARDED_BY(mu_) = false;
  // Being given back: refused at once, before the keeper releases them.
  absl::flat_hash_set<std::string> giving_back_ ABSL_GUARDED_BY(mu_);
  // Held and handed to the manager (TakeOwnership done): trades pass only
  // for these, so the moment between gaining a lease and loading the
  // strategy answers UNAVAILABLE, not "unknown strategy".
  absl::flat_hash_set<std::string> taken_ ABSL_GUARDED_BY(mu_);
  // Every strategy lease as of the last round (what a non-owner's answer
  // names: no database call on the request path).
  struct KnownLease {
    std::string holder;
    int64_t epoch = 0;
    bool live = false;
  };
  absl::flat_hash_map<std::string, KnownLease> leases_ ABSL_GUARDED_BY(mu_);
  // Reads lease `name` from the table (a database call, off the round) and
  // keeps it as strategy_id's known lease; nullopt when there is none.
  std::optional<KnownLease> ReadLeaseAfresh(const std::string& name,
                                            absl::string_view strategy_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Live members' advertised gRPC addresses by node, as of the last round.
  absl::flat_hash_map<std::string, std::string> addresses_ ABSL_GUARDED_BY(mu_);
  std::string advertised_ ABSL_GUARDED_BY(mu_);
  bool address_published_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace xctl::cluster
