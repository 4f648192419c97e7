// The database going away and coming back (PostgreSQL behind a TCP proxy the
// test cuts): calls fail with UNAVAILABLE and a clear message while it is
// gone, nothing is half-written, and the next call after it is back works.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/store.h"
#include "tests/support/pg_url.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::TcpProxy;
using ::xctl::testing::TestDatabase;

StrategyRecord Strategy(const std::string& id) {
  return StrategyRecord{.id = id, .name = id, .type = "external", .pairs = {"BTC-USDT"},
                        .starting_balance = Decimal::FromInt(10000)};
}

TEST(StoreReconnect, PostgresGoingAwayIsUnavailableAndTheNextCallAfterItIsBackWorks) {
  TestDatabase db("postgresql");
  XCTL_REQUIRE_DATABASE(db);
  TcpProxy proxy(xctl::testing::PgPort(db.url()));
  auto store = Store::Open({.url = xctl::testing::WithPgPort(db.url(), proxy.port())});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Transact([](Tx& tx) { return tx.strategies().Insert(Strategy("a")); }).ok());

  proxy.Cut();
  absl::Status write =
      (*store)->Transact([](Tx& tx) { return tx.strategies().Insert(Strategy("b")); });
  EXPECT_EQ(write.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(write.message(), HasSubstr("database"));
  absl::Status read = (*store)->Read([](Tx& tx) { return tx.strategies().List().status(); });
  EXPECT_EQ(read.code(), absl::StatusCode::kUnavailable);

  proxy.Resume();
  // Every pooled session recovers on its first use.
  for (int i = 0; i < 8; ++i) {
    std::string id = "c" + std::to_string(i);
    absl::Status st = (*store)->Transact([&](Tx& tx) { return tx.strategies().Insert(Strategy(id)); });
    ASSERT_TRUE(st.ok()) << i << ": " << st;
  }
  std::vector<StrategyRecord> all;
  ASSERT_TRUE((*store)->Read([&](Tx& tx) -> absl::Status {
    auto list = tx.strategies().List();
    if (list.ok()) all = *list;
    return list.status();
  }).ok());
  EXPECT_EQ(all.size(), 9u);  // "b" was never written
}

}  // namespace
}  // namespace xctl
