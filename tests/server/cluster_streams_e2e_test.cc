// Cluster mode end to end, streams served anywhere (issue #8, docs/cluster.md
// "Streams"): two real xctld processes with --cluster on one nats-server and
// one PostgreSQL database (XCTL_TEST_PG_URL; skipped without it unless
// XCTL_REQUIRE_PG=1), prices from the fake BloFin server. A strategy created
// through the API on instance A exists only there; StreamPositions and
// StreamKpis for it on instance B get the snapshot (from B's remote cache),
// the new positions and their marks, its KPIs, and no longer list a position
// once A closed it.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/server/cluster_fixture.h"
#include "tests/server/running_xctld.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl {
namespace {

using ::xctl::testing::ClusterFixture;
using ::xctl::testing::RunningXctld;

constexpr int kIntervalMs = 200;

template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return pred();
}

void Deadline(grpc::ClientContext& c) {
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
}

// A server stream read on its own thread; every message kept.
template <typename Response>
class Stream {
 public:
  template <typename Open>
  explicit Stream(Open open) {
    thread_ = std::thread([this, open] {
      auto reader = open(&ctx_);
      Response msg;
      while (reader->Read(&msg)) {
        absl::MutexLock lock(&mu_);
        messages_.push_back(msg);
      }
      reader->Finish();
    });
  }
  ~Stream() {
    ctx_.TryCancel();
    thread_.join();
  }
  std::vector<Response> Messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  grpc::ClientContext ctx_;
  absl::Mutex mu_;
  std::vector<Response> messages_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

using PositionStream = Stream<v1::StreamPositionsResponse>;
using KpiStream = Stream<v1::StreamKpisResponse>;

std::unique_ptr<PositionStream> OpenPositions(RunningXctld& node, const std::string& strategy,
                                              bool include_closed = false) {
  auto stub = std::shared_ptr<v1::ExchangeControl::Stub>(
      v1::ExchangeControl::NewStub(node.channel()));
  return std::make_unique<PositionStream>([stub, strategy, include_closed](grpc::ClientContext* c) {
    v1::StreamPositionsRequest req;
    req.set_strategy_id(strategy);
    req.set_include_closed(include_closed);
    return stub->StreamPositions(c, req);
  });
}

std::unique_ptr<KpiStream> OpenKpis(RunningXctld& node, const std::string& strategy) {
  auto stub = std::shared_ptr<v1::ExchangeControl::Stub>(
      v1::ExchangeControl::NewStub(node.channel()));
  return std::make_unique<KpiStream>([stub, strategy](grpc::ClientContext* c) {
    v1::StreamKpisRequest req;
    req.set_strategy_id(strategy);
    return stub->StreamKpis(c, req);
  });
}

// The first message, if it is the snapshot.
template <typename Response>
std::optional<Response> Snapshot(Stream<Response>& s) {
  auto m = s.Messages();
  if (m.empty() || !m[0].has_snapshot()) return std::nullopt;
  return m[0];
}

// Every position row of every update message.
std::vector<v1::Position> UpdatedPositions(PositionStream& s) {
  std::vector<v1::Position> out;
  for (const auto& m : s.Messages()) {
    if (m.has_update()) out.insert(out.end(), m.update().positions().begin(), m.update().positions().end());
  }
  return out;
}

class ClusterStreamsE2e : public ClusterFixture {
 protected:
  void SetUp() override { StartCluster(2, "streams", "", kIntervalMs); }

  // Creates and starts an external paper strategy through the API of `node`.
  void CreateStrategy(RunningXctld& node, const std::string& id) {
    grpc::ClientContext c;
    Deadline(c);
    v1::CreateStrategyRequest req;
    req.mutable_strategy()->set_id(id);
    req.mutable_strategy()->set_type("external");
    req.mutable_strategy()->add_pairs("BTC-USDT");
    req.set_start(true);
    v1::CreateStrategyResponse resp;
    grpc::Status s = v1::StrategyManager::NewStub(node.channel())->CreateStrategy(&c, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // On `node` itself (the forwarding marker: no forwarding, so the owner is
  // the one that accepts it; docs/cluster.md, "Forwarding").
  grpc::Status Order(RunningXctld& node, const std::string& id, bool close) {
    grpc::ClientContext c;
    Deadline(c);
    c.AddMetadata("x-xctl-forwarded-by", "client");
    auto stub = v1::ExchangeControl::NewStub(node.channel());
    if (close) {
      v1::ClosePositionRequest req;
      req.set_strategy_id(id);
      req.set_symbol("BTC-USDT");
      v1::ClosePositionResponse resp;
      return stub->ClosePosition(&c, req, &resp);
    }
    v1::PlaceOrderRequest req;
    req.set_strategy_id(id);
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value("1");
    v1::PlaceOrderResponse resp;
    return stub->PlaceOrder(&c, req, &resp);
  }

};

TEST_F(ClusterStreamsE2e, StreamsOnB_ServeAStrategyThatRunsOnlyOnA) {
  ASSERT_NO_FATAL_FAILURE(CreateStrategy(*nodes_[0], "s1"));
  // The instance that runs s1 ("A") is the one whose PlaceOrder succeeds:
  // the creating instance without strategy sharding; with sharding, the
  // holder of s1's lease (the other one answers UNAVAILABLE naming it). A
  // market order also needs prices to flow first.
  int owner = -1;
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < 2 && owner < 0; ++i) {
      if (Order(*nodes_[i], "s1", false).ok()) owner = i;
    }
    return owner >= 0;
  })) << nodes_[0]->process().Stderr();
  RunningXctld& a = *nodes_[owner];
  RunningXctld& b = *nodes_[1 - owner];
  std::printf("s1 runs on node%d; streams on node%d\n", owner, 1 - owner);

  // B has no s1 of its own: asked for itself only (the forwarding marker:
  // docs/cluster.md, "Forwarding"), it names A.
  {
    grpc::ClientContext c;
    Deadline(c);
    c.AddMetadata("x-xctl-forwarded-by", "client");
    v1::GetBalanceRequest req;
    req.set_strategy_id("s1");
    v1::GetBalanceResponse resp;
    EXPECT_FALSE(v1::ExchangeControl::NewStub(b.channel())->GetBalance(&c, req, &resp).ok())
        << "s1 also runs on B; the test needs a strategy only A runs";
  }

  // 1. A stream opened on B now starts from B's remote cache: A's position,
  // marked; then updates with new marks as the price moves.
  std::unique_ptr<PositionStream> on_b;
  ASSERT_TRUE(WaitFor([&] {
    on_b = OpenPositions(b, "s1");
    if (!WaitFor([&] { return Snapshot(*on_b).has_value(); }, absl::Seconds(10))) return false;
    return Snapshot(*on_b)->snapshot().positions_size() == 1;
  })) << "B's snapshot never listed A's position\n" << b.process().Stdout();
  const v1::Position first = Snapshot(*on_b)->snapshot().positions(0);
  EXPECT_EQ(first.strategy_id(), "s1");
  EXPECT_EQ(first.symbol(), "BTC-USDT");
  EXPECT_EQ(first.status(), v1::POSITION_STATUS_OPEN);
  EXPECT_EQ(first.quantity().value(), "1");
  EXPECT_FALSE(first.mark_price().value().empty());
  ASSERT_TRUE(WaitFor([&] {
    auto rows = UpdatedPositions(*on_b);
    std::set<std::string> marks;
    for (const auto& p : rows) {
      if (p.id() == first.id()) marks.insert(p.mark_price().value());
    }
    return marks.size() >= 2;
  })) << "no moving marks for A's position on B";

  // 2. A new position on A reaches the open stream on B as an update.
  std::unique_ptr<KpiStream> kpis_on_b = OpenKpis(b, "s1");
  std::unique_ptr<PositionStream> closed_on_b = OpenPositions(b, "s1", /*include_closed=*/true);
  ASSERT_TRUE(WaitFor([&] { return Snapshot(*closed_on_b).has_value(); }));
  ASSERT_TRUE(Order(a, "s1", false).ok());
  // The paper exchange may add to the open row or open a new one: either
  // way B's stream shows 2 contracts open after the newest update of each row.
  ASSERT_TRUE(WaitFor([&] {
    std::map<std::string, v1::Position> latest;
    for (const auto& p : UpdatedPositions(*on_b)) latest[p.id()] = p;
    if (!latest.contains(first.id())) latest[first.id()] = first;
    double open = 0;
    for (const auto& [id, p] : latest) {
      if (p.status() == v1::POSITION_STATUS_OPEN) open += std::stod(p.quantity().value());
    }
    return open == 2;
  })) << "the second fill never reached B";
  for (const auto& p : UpdatedPositions(*on_b)) EXPECT_EQ(p.strategy_id(), "s1");

  // 3. StreamKpis(s1) on B: s1's KPIs (snapshot from the cache, then
  // updates), 2 contracts of exposure once the second fill is marked.
  auto kpi_snapshot = Snapshot(*kpis_on_b);
  ASSERT_TRUE(kpi_snapshot.has_value());
  for (const auto& k : kpi_snapshot->snapshot().kpis()) EXPECT_EQ(k.scope().strategy_id(), "s1");
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& m : kpis_on_b->Messages()) {
      auto check = [](const v1::Kpis& k) {
        return k.scope().strategy_id() == "s1" && k.open_positions() >= 1 &&
               k.open_exposure_size() == 1 && std::stod(k.open_exposure(0).quantity().value()) == 2 &&
               !k.starting_balance().value().empty() && !k.equity().value().empty();
      };
      if (m.has_update() && std::any_of(m.update().kpis().begin(), m.update().kpis().end(), check)) {
        return true;
      }
    }
    return false;
  })) << "no KPIs of s1 with 2 contracts open on B";

  // 4. A closes: B's include_closed stream sees the rows close, and a new
  // snapshot on B no longer lists them.
  ASSERT_TRUE(Order(a, "s1", true).ok());
  ASSERT_TRUE(WaitFor([&] {
    int closed = 0;
    for (const auto& p : UpdatedPositions(*closed_on_b)) closed += p.status() == v1::POSITION_STATUS_CLOSED;
    return closed >= 1;
  })) << "B never saw the closes";
  // (Polled: a mark computed just before the close can still be published
  // just after it; the owner's next full-state refresh, within 1 s here,
  // then removes the row from B's cache.)
  ASSERT_TRUE(WaitFor([&] {
    auto after = OpenPositions(b, "s1");
    if (!WaitFor([&] { return Snapshot(*after).has_value(); }, absl::Seconds(10))) return false;
    return Snapshot(*after)->snapshot().positions_size() == 0;
  })) << "B's snapshot still lists the closed position";
  // A stream for a strategy type / everything on B also lists remote ones
  // (A opens again after the close).
  ASSERT_TRUE(Order(a, "s1", false).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto all = OpenPositions(b, "");
    if (!WaitFor([&] { return Snapshot(*all).has_value(); }, absl::Seconds(10))) return false;
    return Snapshot(*all)->snapshot().positions_size() == 1;
  }));
}

}  // namespace
}  // namespace xctl
