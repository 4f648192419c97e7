// Leases on both backends (PostgreSQL from XCTL_TEST_PG_URL, each test in
// its own database; skipped without it unless XCTL_REQUIRE_PG=1): two
// holders, takeover after expiry, renewal, the epoch as a fencing token,
// release, contention, and the LeaseKeeper's gained/lost reports.
//
// Time: the tables and keepers run on one FakeClock that the tests move (no
// test waits for a lease to expire); `DatabaseClock_*` open a table without a
// clock, the way xctld does, and check that the database's clock decides.
#include "server/cluster/lease.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/cluster/lease_keeper.h"
#include "server/cluster/subjects.h"
#include "server/common/clock.h"
#include "server/store/store.h"
#include "tests/support/pg_url.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_databases.h"

namespace xctl::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using xctl::testing::TestDatabase;

const std::string kName(kPriceLeaderLease);

class LeaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    auto store = Store::Open({.url = db_->url()});  // applies the migrations
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    table_ = OpenTable();
    ASSERT_NE(table_, nullptr);
  }

  // A table on clock_ (tests), or on the database's clock (nullptr: xctld).
  std::unique_ptr<LeaseTable> OpenTable(const Clock* clock) {
    auto table = LeaseTable::Open(db_->url(), clock);
    EXPECT_TRUE(table.ok()) << table.status();
    return table.ok() ? *std::move(table) : nullptr;
  }
  std::unique_ptr<LeaseTable> OpenTable() { return OpenTable(&clock_); }

  Lease Acquire(const std::string& name, const std::string& holder, absl::Duration ttl) {
    auto lease = table_->TryAcquire(name, holder, ttl);
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? *lease : Lease{};
  }

  FakeClock clock_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LeaseTable> table_;
};

TEST_P(LeaseTest, TryAcquire_FreeName_IsHeldWithEpochOne) {
  Lease a = Acquire(kName, "node-a", absl::Seconds(10));
  EXPECT_TRUE(a.held);
  EXPECT_EQ(a.name, kName);
  EXPECT_EQ(a.holder, "node-a");
  EXPECT_EQ(a.epoch, 1);
  // The table's clock decides: expiry is now + ttl by that clock.
  EXPECT_EQ(a.db_now_ms, clock_.NowMillis());
  EXPECT_EQ(a.expires_at_ms, clock_.NowMillis() + 10'000);
  EXPECT_EQ(a.remaining(), absl::Seconds(10));
}

TEST_P(LeaseTest, DatabaseClock_DecidesWithoutAClock) {
  auto db_clock = OpenTable(nullptr);
  ASSERT_NE(db_clock, nullptr);
  auto a = db_clock->TryAcquire(kName, "node-a", absl::Seconds(10));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->held);
  // Expiry is now + ttl by the database clock, which is the real time here.
  EXPECT_NEAR(a->expires_at_ms - a->db_now_ms, 10'000, 5);
  EXPECT_NEAR(static_cast<double>(a->db_now_ms), absl::ToUnixMillis(absl::Now()), 60'000);
  EXPECT_GT(a->remaining(), absl::Seconds(9));
  // The same row judged by a clock an hour later: expired, so node-b takes
  // it with the next epoch; by the database's clock node-a still holds it.
  FakeClock later(absl::Now() + absl::Hours(1));
  auto table_later = OpenTable(&later);
  ASSERT_NE(table_later, nullptr);
  auto b = table_later->TryAcquire(kName, "node-b", absl::Seconds(10));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->held);
  EXPECT_EQ(b->epoch, 2);
  auto renew = db_clock->Renew(kName, "node-a", a->epoch, absl::Seconds(10));
  ASSERT_TRUE(renew.ok()) << renew.status();
  EXPECT_FALSE(renew->held);
  EXPECT_EQ(renew->holder, "node-b");
}

TEST_P(LeaseTest, TwoHolders_OnlyOneHoldsAndTheOtherLearnsWho) {
  Lease a = Acquire(kName, "node-a", absl::Seconds(10));
  Lease b = Acquire(kName, "node-b", absl::Seconds(10));
  EXPECT_TRUE(a.held);
  EXPECT_FALSE(b.held);
  EXPECT_EQ(b.holder, "node-a");
  EXPECT_EQ(b.epoch, 1);
  EXPECT_EQ(b.expires_at_ms, a.expires_at_ms);
  // Other names are independent.
  Lease other = Acquire("strategy:s1", "node-b", absl::Seconds(10));
  EXPECT_TRUE(other.held);
  EXPECT_EQ(other.epoch, 1);
}

TEST_P(LeaseTest, TryAcquire_BySameHolder_ExtendsWithTheSameEpoch) {
  Lease first = Acquire(kName, "node-a", absl::Seconds(1));
  clock_.Advance(absl::Milliseconds(20));
  Lease again = Acquire(kName, "node-a", absl::Seconds(10));
  EXPECT_TRUE(again.held);
  EXPECT_EQ(again.epoch, first.epoch);
  EXPECT_GT(again.expires_at_ms, first.expires_at_ms);
}

TEST_P(LeaseTest, Expiry_LetsAnotherHolderTakeOverWithTheNextEpoch) {
  Lease a = Acquire(kName, "node-a", absl::Milliseconds(200));
  ASSERT_TRUE(a.held);
  EXPECT_FALSE(Acquire(kName, "node-b", absl::Seconds(10)).held);
  clock_.Advance(absl::Milliseconds(199));
  EXPECT_FALSE(Acquire(kName, "node-b", absl::Seconds(10)).held);  // 1 ms left
  clock_.Advance(absl::Milliseconds(1));
  Lease b = Acquire(kName, "node-b", absl::Seconds(10));
  EXPECT_TRUE(b.held);
  EXPECT_EQ(b.holder, "node-b");
  EXPECT_EQ(b.epoch, a.epoch + 1);
  // The old holder's renewal is refused and names the new tenure.
  auto renew = table_->Renew(kName, "node-a", a.epoch, absl::Seconds(10));
  ASSERT_TRUE(renew.ok()) << renew.status();
  EXPECT_FALSE(renew->held);
  EXPECT_EQ(renew->holder, "node-b");
  EXPECT_EQ(renew->epoch, b.epoch);
  // And it cannot take the lease back while node-b holds it.
  EXPECT_FALSE(Acquire(kName, "node-a", absl::Seconds(10)).held);
}

TEST_P(LeaseTest, Renew_KeepsTheLeaseBeyondItsFirstTtl) {
  Lease a = Acquire(kName, "node-a", absl::Milliseconds(800));
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(absl::Milliseconds(250));
    auto renewed = table_->Renew(kName, "node-a", a.epoch, absl::Milliseconds(800));
    ASSERT_TRUE(renewed.ok()) << renewed.status();
    EXPECT_TRUE(renewed->held) << "renewal " << i;
    EXPECT_EQ(renewed->epoch, a.epoch);
    EXPECT_EQ(renewed->expires_at_ms - renewed->db_now_ms, 800);
  }
  // 200 ms after the first ttl ended, node-b still cannot take it.
  EXPECT_FALSE(Acquire(kName, "node-b", absl::Seconds(1)).held);
}

TEST_P(LeaseTest, Renew_AfterExpiry_IsLostEvenWhenNobodyTookIt) {
  Lease a = Acquire(kName, "node-a", absl::Milliseconds(100));
  clock_.Advance(absl::Milliseconds(100));  // expires_at <= now: expired
  auto renewed = table_->Renew(kName, "node-a", a.epoch, absl::Seconds(10));
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(renewed->held);
  // A new tenure of the same holder is a new epoch.
  Lease again = Acquire(kName, "node-a", absl::Seconds(10));
  EXPECT_TRUE(again.held);
  EXPECT_EQ(again.epoch, a.epoch + 1);
}

TEST_P(LeaseTest, Renew_WithAWrongEpoch_IsRefused) {
  Lease a = Acquire(kName, "node-a", absl::Seconds(10));
  auto renewed = table_->Renew(kName, "node-a", a.epoch + 1, absl::Seconds(10));
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(renewed->held);
  auto never = table_->Renew("never-leased", "node-a", 1, absl::Seconds(10));
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->held);
  EXPECT_EQ(never->epoch, 0);
}

TEST_P(LeaseTest, Release_FreesAtOnceAndKeepsTheEpochGrowing) {
  Lease a = Acquire(kName, "node-a", absl::Seconds(60));
  auto released = table_->Release(kName, "node-a", a.epoch);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_TRUE(*released);
  auto twice = table_->Release(kName, "node-a", a.epoch);
  ASSERT_TRUE(twice.ok());
  EXPECT_FALSE(*twice);  // idempotent
  Lease b = Acquire(kName, "node-b", absl::Seconds(60));
  EXPECT_TRUE(b.held);
  EXPECT_EQ(b.epoch, 2);
  // A release by the wrong holder or for an old epoch changes nothing.
  EXPECT_FALSE(table_->Release(kName, "node-a", a.epoch).value());
  EXPECT_FALSE(table_->Release(kName, "node-a", b.epoch).value());
  EXPECT_FALSE(Acquire(kName, "node-a", absl::Seconds(60)).held);
  ASSERT_TRUE(table_->Release(kName, "node-b", b.epoch).value());
  Lease a2 = Acquire(kName, "node-a", absl::Seconds(60));
  EXPECT_TRUE(a2.held);
  EXPECT_EQ(a2.epoch, 3);
}

TEST_P(LeaseTest, Epoch_IncrementsOnEveryChangeOfHolder) {
  std::vector<int64_t> epochs;
  const std::vector<std::string> holders = {"a", "b", "a", "c", "c", "a"};
  std::string previous;
  int64_t previous_epoch = 0;
  for (const std::string& h : holders) {
    if (!previous.empty() && previous != h) {
      ASSERT_TRUE(table_->Release(kName, previous, previous_epoch).value());
    }
    Lease l = Acquire(kName, h, absl::Seconds(60));
    ASSERT_TRUE(l.held) << h;
    epochs.push_back(l.epoch);
    previous = h;
    previous_epoch = l.epoch;
  }
  EXPECT_THAT(epochs, ElementsAre(1, 2, 3, 4, 4, 5));
}

TEST_P(LeaseTest, ListHeldAndRenewAll_CoverOnlyUnexpiredLeasesOfTheHolder) {
  Acquire("strategy:s1", "node-a", absl::Seconds(60));
  Acquire("strategy:s2", "node-a", absl::Seconds(60));
  Acquire("strategy:s3", "node-a", absl::Milliseconds(50));
  Acquire("strategy:s4", "node-b", absl::Seconds(60));
  clock_.Advance(absl::Milliseconds(120));
  auto held = table_->ListHeld("node-a");
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_EQ(held->size(), 2u);
  EXPECT_EQ((*held)[0].name, "strategy:s1");
  EXPECT_EQ((*held)[1].name, "strategy:s2");
  EXPECT_TRUE((*held)[0].held);

  auto renewed = table_->RenewAll("node-a", absl::Seconds(5));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  ASSERT_EQ(renewed->size(), 2u);
  EXPECT_EQ((*renewed)[0].name, "strategy:s1");
  EXPECT_EQ((*renewed)[1].name, "strategy:s2");
  EXPECT_EQ((*renewed)[0].expires_at_ms - (*renewed)[0].db_now_ms, 5'000);
  EXPECT_EQ((*renewed)[0].epoch, 1);
  auto none = table_->RenewAll("node-z", absl::Seconds(5));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(LeaseTest, Contention_ExactlyOneOfManyHoldersWins) {
  constexpr int kContenders = 6;
  for (int round = 0; round < 5; ++round) {
    const std::string name = "contended-" + std::to_string(round);
    std::vector<std::unique_ptr<LeaseTable>> tables;
    for (int i = 0; i < kContenders; ++i) {
      tables.push_back(OpenTable());
      ASSERT_NE(tables.back(), nullptr);
    }
    std::atomic<int> winners{0}, errors{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kContenders; ++i) {
      threads.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        auto l = tables[i]->TryAcquire(name, "node-" + std::to_string(i), absl::Seconds(30));
        if (!l.ok()) {
          ADD_FAILURE() << l.status();
          errors++;
        } else if (l->held) {
          winners++;
        }
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    auto row = table_->Get(name);
    ASSERT_TRUE(row.ok());
    ASSERT_TRUE(row->has_value());
    EXPECT_EQ((*row)->epoch, 1);
  }
}

TEST_P(LeaseTest, BadArguments_AreInvalidArgument) {
  EXPECT_EQ(table_->TryAcquire("", "a", absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table_->TryAcquire("x", "", absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table_->TryAcquire("x", "a", absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table_->TryAcquire("x", "a", absl::Hours(25)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table_->TryAcquire(std::string(201, 'n'), "a", absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table_->RenewAll("a", -absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(LeaseTest, Open_WithoutTheMigrations_IsFailedPrecondition) {
  TestDatabase bare(GetParam());
  XCTL_REQUIRE_DATABASE(bare);
  auto table = LeaseTable::Open(bare.url());
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kFailedPrecondition) << table.status();
  EXPECT_THAT(table.status().message(), HasSubstr("cluster_leases"));
}

// --- LeaseKeeper -----------------------------------------------------------

// Records a keeper's reports.
struct Reports {
  absl::Mutex mu;
  std::vector<std::string> events ABSL_GUARDED_BY(mu);

  LeaseKeeperOptions Options(const std::string& holder, absl::Duration ttl,
                             const Clock& clock) {
    LeaseKeeperOptions o;
    o.holder = holder;
    o.ttl = ttl;
    o.clock = &clock;
    o.on_gained = [this](const Lease& l) {
      absl::MutexLock lock(&mu);
      events.push_back("gained " + l.name + " " + std::to_string(l.epoch));
    };
    o.on_lost = [this](const std::string& name, int64_t epoch, LeaseLossReason reason) {
      absl::MutexLock lock(&mu);
      events.push_back("lost " + name + " " + std::to_string(epoch) + " " +
                       std::string(LeaseLossReasonName(reason)));
    };
    return o;
  }
  std::vector<std::string> Take() {
    absl::MutexLock lock(&mu);
    return std::exchange(events, {});
  }
  bool WaitFor(const std::string& event, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return std::find(events.begin(), events.end(), event) != events.end();
    };
    return mu.AwaitWithTimeout(absl::Condition(&has), timeout);
  }
};

TEST_P(LeaseTest, Keeper_OneLeaderAtATimeAndHandoverOnRelease) {
  Reports ra, rb;
  LeaseKeeper a(*table_, ra.Options("node-a", absl::Seconds(30), clock_));
  auto table_b = OpenTable();
  LeaseKeeper b(*table_b, rb.Options("node-b", absl::Seconds(30), clock_));
  a.Want(kName);
  b.Want(kName);
  a.RunOnce();
  b.RunOnce();
  EXPECT_THAT(ra.Take(), ElementsAre("gained price-leader 1"));
  EXPECT_THAT(rb.Take(), ElementsAre());
  EXPECT_EQ(a.HeldEpoch(kName), 1);
  EXPECT_EQ(b.HeldEpoch(kName), std::nullopt);
  a.RunOnce();  // renews; nothing to report
  EXPECT_THAT(ra.Take(), ElementsAre());

  a.Unwant(kName);
  a.RunOnce();  // releases
  EXPECT_THAT(ra.Take(), ElementsAre("lost price-leader 1 released"));
  EXPECT_EQ(a.HeldEpoch(kName), std::nullopt);
  b.RunOnce();
  EXPECT_THAT(rb.Take(), ElementsAre("gained price-leader 2"));
  EXPECT_EQ(b.HeldEpoch(kName), 2);
  ASSERT_EQ(b.Held().size(), 1u);
}

TEST_P(LeaseTest, Keeper_StopWithoutRelease_LeavesTheLeaseToExpire) {
  Reports ra, rb;
  auto table_b = OpenTable();
  LeaseKeeper b(*table_b, rb.Options("node-b", absl::Milliseconds(600), clock_));
  b.Want(kName);
  {
    LeaseKeeper a(*table_, ra.Options("node-a", absl::Milliseconds(600), clock_));
    a.Want(kName);
    a.RunOnce();
    EXPECT_THAT(ra.Take(), ElementsAre("gained price-leader 1"));
    a.Stop(/*release=*/false);  // a crash, as far as the database knows
    EXPECT_THAT(ra.Take(), ElementsAre("lost price-leader 1 stopped"));
  }
  b.RunOnce();
  EXPECT_THAT(rb.Take(), ElementsAre());  // still a's until it expires
  clock_.Advance(absl::Milliseconds(599));
  b.RunOnce();
  EXPECT_THAT(rb.Take(), ElementsAre());
  clock_.Advance(absl::Milliseconds(1));
  b.RunOnce();
  EXPECT_THAT(rb.Take(), ElementsAre("gained price-leader 2"));
}

TEST_P(LeaseTest, Keeper_TakenOverAfterExpiry_ReportsNotRenewed) {
  Reports ra;
  LeaseKeeper a(*table_, ra.Options("node-a", absl::Milliseconds(300), clock_));
  a.Want(kName);
  a.RunOnce();
  EXPECT_THAT(ra.Take(), ElementsAre("gained price-leader 1"));
  // a misses its renewals (stalled); node-b takes over after expiry.
  clock_.Advance(absl::Milliseconds(300));
  auto table_b = OpenTable();
  ASSERT_TRUE(table_b->TryAcquire(kName, "node-b", absl::Seconds(30))->held);
  // a's local deadline has passed too: it has already stepped down.
  EXPECT_EQ(a.HeldEpoch(kName), std::nullopt);
  a.RunOnce();
  auto events = ra.Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "lost price-leader 1 not_renewed");
}

TEST_P(LeaseTest, Keeper_Thread_GainsRenewsAndHandsOverOnStop) {
  Reports ra, rb;
  const absl::Duration ttl = absl::Milliseconds(900);
  LeaseKeeper a(*table_, ra.Options("node-a", ttl, clock_));
  a.Want(kName);
  a.Want("strategy:s1");
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(ra.WaitFor("gained price-leader 1", absl::Seconds(5)));
  ASSERT_TRUE(ra.WaitFor("gained strategy:s1 1", absl::Seconds(5)));
  auto table_b = OpenTable();
  LeaseKeeper b(*table_b, rb.Options("node-b", ttl, clock_));
  b.Want(kName);
  ASSERT_TRUE(b.Start().ok());
  // Three ttls later a still holds both (renewed every ttl/3): each step
  // waits until both keepers sleep, then moves the clock one interval.
  const absl::Duration interval = ttl / 3;
  for (int step = 0; step < 9; ++step) {
    ASSERT_TRUE(clock_.AwaitSleepers(2)) << "step " << step;
    clock_.Advance(interval);
  }
  ASSERT_TRUE(clock_.AwaitSleepers(2));
  EXPECT_EQ(a.HeldEpoch(kName), 1);
  EXPECT_EQ(a.HeldEpoch("strategy:s1"), 1);
  EXPECT_THAT(rb.Take(), ElementsAre());
  EXPECT_THAT(ra.Take(), ElementsAre("gained price-leader 1", "gained strategy:s1 1"));
  a.Stop();  // releases: b takes over at its next cycle, one interval, not one ttl
  ASSERT_TRUE(clock_.AwaitSleepers(1));
  EXPECT_THAT(rb.Take(), ElementsAre());
  clock_.Advance(interval);
  ASSERT_TRUE(rb.WaitFor("gained price-leader 2", absl::Seconds(5)));
  EXPECT_EQ(a.Start().code(), absl::StatusCode::kFailedPrecondition);
}

// The database goes away (PostgreSQL behind a proxy that is cut): the
// keeper cannot renew, steps down at its local deadline (before the lease
// can expire for anyone else), and takes the lease again, with a new epoch,
// once the database is back.
TEST_P(LeaseTest, Keeper_DatabaseUnreachable_StepsDownAtTheLocalDeadline) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "needs a database server to take away";
  xctl::testing::TcpProxy proxy(xctl::testing::PgPort(db_->url()));
  auto proxied =
      LeaseTable::Open(xctl::testing::WithPgPort(db_->url(), proxy.port()), &clock_);
  ASSERT_TRUE(proxied.ok()) << proxied.status();
  Reports ra;
  LeaseKeeper a(**proxied, ra.Options("node-a", absl::Seconds(2), clock_));
  a.Want(kName);
  a.RunOnce();
  EXPECT_THAT(ra.Take(), ElementsAre("gained price-leader 1"));

  proxy.Cut();
  a.RunOnce();  // renewal fails, deadline not reached yet: still held
  EXPECT_THAT(ra.Take(), ElementsAre());
  EXPECT_EQ(a.HeldEpoch(kName), 1);
  clock_.Advance(absl::Milliseconds(1799));
  EXPECT_EQ(a.HeldEpoch(kName), 1);  // 1 ms before ttl - margin (1.8 s)
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(a.HeldEpoch(kName), std::nullopt);
  a.RunOnce();
  EXPECT_THAT(ra.Take(), ElementsAre("lost price-leader 1 deadline_passed"));

  proxy.Resume();
  clock_.Advance(absl::Milliseconds(200));  // the lease has expired by now (2 s)
  bool regained = false;
  for (int i = 0; i < 50 && !regained; ++i) {  // the first calls may find the
    a.RunOnce();                               // connection broken and reconnect
    regained = a.HeldEpoch(kName).has_value();
  }
  EXPECT_TRUE(regained);
  EXPECT_THAT(ra.Take(), ElementsAre("gained price-leader 2"));
}

TEST_P(LeaseTest, Keeper_BadOptions_AreRefusedByStart) {
  LeaseKeeper no_holder(*table_, LeaseKeeperOptions{});
  EXPECT_EQ(no_holder.Start().code(), absl::StatusCode::kInvalidArgument);
  LeaseKeeperOptions slow;
  slow.holder = "node-a";
  slow.ttl = absl::Seconds(3);
  slow.interval = absl::Seconds(3);
  LeaseKeeper keeper(*table_, slow);
  EXPECT_EQ(keeper.Start().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, LeaseTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl::cluster
