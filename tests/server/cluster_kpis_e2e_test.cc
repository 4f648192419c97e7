// Cluster-wide KPIs end to end (issue #18, item 3; docs/cluster.md,
// "Cluster-wide KPIs"): three real xctld processes with --cluster on one
// nats-server and one PostgreSQL database (XCTL_TEST_PG_URL; skipped without
// it unless XCTL_REQUIRE_PG=1), prices from the fake BloFin server moving
// every 50 ms. Six paper strategies of two types (`external`,
// `tradingview`) are spread over the three by their leases; each trades on
// its owner (two positions opened and closed, so realized PnL and fees are
// not zero and no figure depends on a mark). Then GetKpis(type) and
// GetKpis(all) answer the same on all three instances (polled: they agree
// within one publication interval), and equal the sums rebuilt from the
// stored closed positions (read per strategy): realized PnL, fees, closed trades per type and
// over all. GetKpis of one strategy on an instance that does not run it
// answers what its owner published.
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/common/decimal.h"
#include "tests/server/cluster_fixture.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::xctl::testing::ClusterFixture;

constexpr int kNodes = 3;
constexpr int kIntervalMs = 200;
const std::vector<std::string> kTypes = {"external", "tradingview"};
constexpr int kPerType = 3;

std::string Sid(const std::string& type, int i) { return absl::StrCat(type.substr(0, 1), i); }

Decimal D(const std::string& s) { return Decimal::Parse(s).value(); }

void Deadline(grpc::ClientContext& c, int seconds = 10) {
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

// "... runs on instance node2 (lease epoch 3) ..." -> 2; nullopt otherwise.
std::optional<int> OwnerNamed(const std::string& message) {
  const std::string kRuns = "runs on instance node";
  const size_t at = message.find(kRuns);
  int node = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtoi(message.substr(at + kRuns.size(), 1), &node)) {
    return std::nullopt;
  }
  return node;
}

// Realized PnL, fees and closed trades summed from stored closed positions.
struct Sums {
  Decimal realized;
  Decimal fees;
  int64_t trades = 0;
};

class ClusterKpisE2e : public ClusterFixture {
 protected:
  void SetUp() override {
    std::string config = "cluster: {strategy_lease_ttl_ms: 1500}\nstrategies:\n";
    for (const std::string& type : kTypes) {
      for (int i = 0; i < kPerType; ++i) {
        absl::StrAppend(&config, "  - {id: ", Sid(type, i), ", type: ", type,
                        ", pairs: [BTC-USDT], leverage: \"10\"}\n");
      }
    }
    ASSERT_NO_FATAL_FAILURE(StartCluster(kNodes, "kpis", config, kIntervalMs));
    for (auto& n : nodes_) stubs_.push_back(v1::ExchangeControl::NewStub(n->channel()));
  }

  std::vector<std::string> AllStrategies() const {
    std::vector<std::string> out;
    for (const std::string& type : kTypes) {
      for (int i = 0; i < kPerType; ++i) out.push_back(Sid(type, i));
    }
    return out;
  }

  // strategy -> its owner (GetBalance OK there, UNAVAILABLE elsewhere when
  // not forwarded), once
  // each has exactly one and every node runs two; empty after a minute.
  std::map<std::string, int> BalancedOwners() {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      std::map<std::string, int> owner;
      std::map<int, int> count;
      bool all = true;
      for (const std::string& id : AllStrategies()) {
        int owners = 0;
        for (int n = 0; n < kNodes; ++n) {
          grpc::ClientContext c;
          Deadline(c);
          // Asked for itself only (no forwarding: docs/cluster.md, "Forwarding").
          c.AddMetadata("x-xctl-forwarded-by", "client");
          v1::GetBalanceRequest req;
          req.set_strategy_id(id);
          v1::GetBalanceResponse resp;
          if (!stubs_[n]->GetBalance(&c, req, &resp).ok()) continue;
          ++owners;
          owner[id] = n;
          ++count[n];
        }
        all = all && owners == 1;
      }
      bool even = count.size() == kNodes;
      for (const auto& [n, c] : count) even = even && c == 2;
      if (all && even) return owner;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return {};
  }

  // Runs `call(node)` on the strategy's owner, following the owner named in
  // UNAVAILABLE answers (placement may still move a strategy), with the same
  // request (and client order id) each time, for up to 30 s.
  template <typename Call>
  void OnOwner(const std::string& strategy, int* owner, Call call) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    grpc::Status last;
    while (absl::Now() < deadline) {
      last = call(*owner);
      if (last.ok()) return;
      ASSERT_EQ(last.error_code(), grpc::StatusCode::UNAVAILABLE)
          << strategy << " on node" << *owner << ": " << last.error_message();
      *owner = OwnerNamed(last.error_message()).value_or((*owner + 1) % kNodes);
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << strategy << ": no owner accepted it in 30 s: " << last.error_message();
  }

  // Opens a position of `quantity` on `strategy` and closes it.
  void RoundTrip(const std::string& strategy, int* owner, v1::Side side,
                 const std::string& quantity, const std::string& tag) {
    ASSERT_NO_FATAL_FAILURE(OnOwner(strategy, owner, [&](int n) {
      grpc::ClientContext c;
      Deadline(c);
      v1::PlaceOrderRequest req;
      req.set_strategy_id(strategy);
      req.set_symbol("BTC-USDT");
      req.set_side(side);
      req.set_type(v1::ORDER_TYPE_MARKET);
      req.mutable_quantity()->set_value(quantity);
      req.set_client_order_id(absl::StrCat("open", tag));
      v1::PlaceOrderResponse resp;
      return stubs_[n]->PlaceOrder(&c, req, &resp);
    }));
    absl::SleepFor(absl::Milliseconds(150));  // the price moves: a PnL either way
    ASSERT_NO_FATAL_FAILURE(OnOwner(strategy, owner, [&](int n) {
      grpc::ClientContext c;
      Deadline(c);
      v1::ClosePositionRequest req;
      req.set_strategy_id(strategy);
      req.set_symbol("BTC-USDT");
      req.set_client_order_id(absl::StrCat("close", tag));
      v1::ClosePositionResponse resp;
      return stubs_[n]->ClosePosition(&c, req, &resp);
    }));
  }

  // The stored positions of one strategy (read by id, which any instance
  // answers from the shared database; by type, ListPositions lists the
  // strategies run on the instance asked only): sums of the closed ones
  // added to `sums`, open ones counted.
  void FromStore(const std::string& strategy, Sums* sums, int* open) {
    std::string token;
    do {
      grpc::ClientContext c;
      Deadline(c);
      v1::ListPositionsRequest req;
      req.set_strategy_id(strategy);
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListPositionsResponse resp;
      grpc::Status st = stubs_[0]->ListPositions(&c, req, &resp);
      ASSERT_TRUE(st.ok()) << st.error_message();
      for (const v1::Position& p : resp.positions()) {
        if (p.status() != v1::POSITION_STATUS_CLOSED) {
          ++*open;
          continue;
        }
        sums->realized += D(p.pnl().value());
        sums->fees += D(p.fees().value());
        ++sums->trades;
      }
      token = resp.next_page_token();
    } while (!token.empty());
  }

  grpc::Status Kpis(int node, const std::string& strategy, const std::string& type,
                    v1::GetKpisResponse* resp) {
    grpc::ClientContext c;
    Deadline(c);
    v1::GetKpisRequest req;
    req.set_strategy_id(strategy);
    req.set_strategy_type(type);
    return stubs_[node]->GetKpis(&c, req, resp);
  }

  // Polls GetKpis(type) ("all" when empty) on every node until all three
  // answer the same total and it equals `want`; returns the last answers.
  bool AgreeAndMatch(const std::string& type, const Sums& want, std::string* why) {
    const absl::Time start = absl::Now();
    const absl::Time deadline = start + absl::Seconds(30);
    while (true) {
      std::vector<v1::GetKpisResponse> answers(kNodes);
      bool ok = true;
      for (int n = 0; n < kNodes && ok; ++n) {
        grpc::Status st = Kpis(n, "", type, &answers[n]);
        if (!st.ok()) {
          *why = absl::StrCat("node", n, ": ", st.error_message());
          ok = false;
        }
      }
      if (ok) {
        const v1::Kpis& t = answers[0].total();
        for (int n = 1; n < kNodes && ok; ++n) {
          if (!MessageDifferencer::Equals(answers[n], answers[0])) {
            *why = absl::StrCat("node0 and node", n, " differ:\n", answers[0].DebugString(),
                                "\n", answers[n].DebugString());
            ok = false;
          }
        }
        if (ok && !(D(t.realized_pnl().value()) == want.realized &&
                    D(t.fees_paid().value()) == want.fees && t.closed_trades() == want.trades &&
                    t.open_positions() == 0 && D(t.unrealized_pnl().value()).is_zero())) {
          *why = absl::StrCat("store: realized ", want.realized.ToString(), " fees ",
                              want.fees.ToString(), " trades ", want.trades, "; answered ",
                              t.DebugString());
          ok = false;
        }
        if (ok) {
          std::printf("GetKpis(%s) on all %d: realized %s fees %s trades %lld, strategies %d; "
                      "agreed after %.0f ms of polling\n",
                      type.empty() ? "all" : type.c_str(), kNodes, t.realized_pnl().value().c_str(),
                      t.fees_paid().value().c_str(), static_cast<long long>(t.closed_trades()),
                      answers[0].strategies_size(),
                      absl::ToDoubleMilliseconds(absl::Now() - start));
          return true;
        }
      }
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  std::vector<std::unique_ptr<v1::ExchangeControl::Stub>> stubs_;
};

TEST_F(ClusterKpisE2e, TypeAndAllAggregatesAreClusterWideAndEqualTheStore) {
  std::map<std::string, int> owner = BalancedOwners();
  ASSERT_EQ(owner.size(), AllStrategies().size()) << "placement never settled at 2 per node";
  std::set<int> used;
  for (const auto& [id, n] : owner) used.insert(n);
  ASSERT_EQ(used.size(), static_cast<size_t>(kNodes));

  // Two round trips per strategy, of different sizes and sides.
  int k = 0;
  for (const std::string& id : AllStrategies()) {
    ++k;
    ASSERT_NO_FATAL_FAILURE(
        RoundTrip(id, &owner[id], v1::SIDE_BUY, absl::StrCat(1 + k % 3), absl::StrCat(id, "a")));
    ASSERT_NO_FATAL_FAILURE(RoundTrip(id, &owner[id], v1::SIDE_SELL, absl::StrCat(1 + k % 2),
                                      absl::StrCat(id, "b")));
  }

  int open = 0;
  std::map<std::string, Sums> per_type;
  Sums all;
  for (const std::string& type : kTypes) {
    for (int i = 0; i < kPerType; ++i) {
      ASSERT_NO_FATAL_FAILURE(FromStore(Sid(type, i), &per_type[type], &open));
    }
    EXPECT_EQ(per_type[type].trades, 2 * kPerType) << type;
    EXPECT_FALSE(per_type[type].fees.is_zero()) << type;
    all.realized += per_type[type].realized;
    all.fees += per_type[type].fees;
    all.trades += per_type[type].trades;
  }
  ASSERT_EQ(open, 0) << "every position was closed";

  std::string why;
  for (const std::string& type : kTypes) {
    EXPECT_TRUE(AgreeAndMatch(type, per_type[type], &why)) << type << ": " << why;
  }
  EXPECT_TRUE(AgreeAndMatch("", all, &why)) << "all: " << why;

  // One strategy on an instance that does not run it: its owner's published
  // KPIs, the same figures the owner answers.
  const std::string id = AllStrategies()[0];
  v1::GetKpisResponse on_owner;
  ASSERT_TRUE(Kpis(owner[id], id, "", &on_owner).ok());
  const int other = (owner[id] + 1) % kNodes;
  v1::GetKpisResponse elsewhere;
  grpc::Status st = Kpis(other, id, "", &elsewhere);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(D(elsewhere.total().realized_pnl().value()), D(on_owner.total().realized_pnl().value()));
  EXPECT_EQ(D(elsewhere.total().fees_paid().value()), D(on_owner.total().fees_paid().value()));
  EXPECT_EQ(elsewhere.total().closed_trades(), 2);
  // A type nobody runs is NOT_FOUND everywhere, as on one instance.
  v1::GetKpisResponse none;
  EXPECT_EQ(Kpis(other, "", "sma_cross", &none).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace xctl
