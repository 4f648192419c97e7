// Upgrading a database that is at migration 2, with rows in it, to the
// latest schema on both backends: migration 3 (order types and TP/SL) keeps
// every order, fill and position with its id, the indexes and the UNIQUE
// constraint, and the widened CHECK still refuses unknown order types.
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "server/store/migrations.h"
#include "server/store/store.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

// Applies the embedded migrations up to `version` the way an older xctld
// did, on a session of its own.
void MigrateTo(soci::session& sql, Dialect dialect, int version) {
  sql << "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
         "applied_at BIGINT NOT NULL)";
  for (const auto& m : store_internal::Migrations()) {
    if (m.version > version) break;
    std::string text;  // without comment lines
    for (absl::string_view line : absl::StrSplit(
             dialect == Dialect::kSqlite ? m.sqlite_sql : m.postgresql_sql, '\n')) {
      if (!absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "--")) {
        absl::StrAppend(&text, line, "\n");
      }
    }
    for (absl::string_view stmt : absl::StrSplit(text, ";\n", absl::SkipWhitespace())) {
      sql << std::string(stmt);
    }
    sql << "INSERT INTO schema_migrations (version, name, applied_at) VALUES (" << m.version
        << ", '" << m.name << "', 0)";
  }
}

std::set<std::string> IndexNames(soci::session& sql, Dialect dialect) {
  soci::rowset<std::string> rows =
      dialect == Dialect::kSqlite
          ? sql.prepare << "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                           "tbl_name IN ('orders', 'fills')"
          : sql.prepare << "SELECT indexname FROM pg_indexes WHERE tablename IN ('orders', "
                           "'fills')";
  return std::set<std::string>(rows.begin(), rows.end());
}

const soci::backend_factory& Backend(Dialect dialect) {
  if (dialect == Dialect::kSqlite) return soci::sqlite3;
  return soci::postgresql;
}

class MigrationUpgradeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MigrationUpgradeTest, FromMigrationTwoWithRowsKeepsEveryRowIndexAndConstraint) {
  xctl::testing::TestDatabase db(GetParam());
  XCTL_REQUIRE_DATABASE(db);
  SociTarget target = SociTargetFor(db.url()).value();
  std::set<std::string> indexes_before;
  {
    soci::session sql(Backend(target.dialect), target.connect);
    if (target.dialect == Dialect::kSqlite) sql << "PRAGMA foreign_keys=ON";
    MigrateTo(sql, target.dialect, 2);
    sql << "INSERT INTO strategies (id, name, type, pairs, params, starting_balance, leverage, "
           "desired_status, created_at, updated_at) VALUES ('s1', 'S1', 'aibot', 'BTC-USDT', "
           "'{}', '10000', '1', 'running', 1, 1)";
    const char* order =
        "INSERT INTO orders (id, strategy_id, client_order_id, exchange_order_id, symbol, side, "
        "type, price, quantity, status, filled_quantity, average_price, fee, reduce_only, mode, "
        "reject_reason, create_time, update_time) VALUES ";
    sql << order << "(1, 's1', 'c1', 'paper-1', 'BTC-USDT', 'buy', 'limit', '63990', '1', "
                    "'open', '0', '0', '0', 0, 'paper', '', 10, 11)";
    sql << order << "(7, 's1', 'c7', 'paper-7', 'BTC-USDT', 'sell', 'market', NULL, '0.5', "
                    "'filled', '0.5', '64000', '0.0192', 0, 'paper', '', 12, 13)";
    sql << "INSERT INTO fills (id, order_id, strategy_id, symbol, side, price, quantity, fee, "
           "maker, mode, exchange_fill_id, time) VALUES (4, 7, 's1', 'BTC-USDT', 'sell', "
           "'64000', '0.5', '0.0192', 0, 'paper', 'T9', 13)";
    sql << "INSERT INTO positions (id, strategy_id, symbol, side, open_time, open_price, "
           "quantity, status, fees, mode, exchange) VALUES (3, 's1', 'BTC-USDT', 'short', 13, "
           "'64000', '0.5', 'open', '0.0192', 'paper', 'paper')";
    if (target.dialect == Dialect::kPostgresql) {
      sql << "SELECT setval('orders_id_seq', 7)";
    }
    indexes_before = IndexNames(sql, target.dialect);
  }

  auto opened = Store::Open({.url = db.url()});
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Store> store = *std::move(opened);
  EXPECT_EQ(store->SchemaVersion(), Store::LatestSchemaVersion());

  ASSERT_TRUE(store->Transact([&](Tx& tx) -> absl::Status {
    Order resting = tx.orders().Get(1).value();
    EXPECT_EQ(resting.client_order_id, "c1");
    EXPECT_EQ(resting.type, OrderType::kLimit);
    EXPECT_EQ(resting.price, D("63990"));
    EXPECT_EQ(resting.status, OrderStatus::kOpen);
    EXPECT_FALSE(resting.take_profit);
    Order filled = tx.orders().Get(7).value();
    EXPECT_EQ(filled.average_price, D("64000"));
    EXPECT_EQ(filled.create_time_ms, 12);
    std::vector<Fill> fills = tx.fills().ListByOrder(7).value();
    EXPECT_EQ(fills.size(), 1u);
    if (!fills.empty()) {
      EXPECT_EQ(fills[0].id, 4);
      EXPECT_EQ(fills[0].exchange_fill_id, "T9");
    }
    Position p = tx.positions().Get(3).value();
    EXPECT_EQ(p.quantity, D("0.5"));
    EXPECT_FALSE(p.stop_loss);
    EXPECT_EQ(tx.orders().ListResting("s1").value().size(), 1u);

    // New types and TP/SL round-trip; ids continue after the old rows.
    Order post{.strategy_id = "s1", .client_order_id = "c8", .symbol = "BTC-USDT",
               .side = Side::kBuy, .type = OrderType::kPostOnly, .price = D("63000"),
               .quantity = D("1"),
               .take_profit = TriggerOrder{.trigger_price = D("65000")},
               .stop_loss = TriggerOrder{.trigger_price = D("62000"), .order_price = D("61990")}};
    EXPECT_TRUE(tx.orders().Insert(&post).ok());
    EXPECT_GT(post.id, 7);
    Order back = tx.orders().Get(post.id).value();
    EXPECT_EQ(back.type, OrderType::kPostOnly);
    EXPECT_EQ(back.take_profit, post.take_profit);
    EXPECT_EQ(back.stop_loss, post.stop_loss);
    p.take_profit = TriggerOrder{.trigger_price = D("63000")};
    EXPECT_TRUE(tx.positions().Update(p).ok());
    EXPECT_EQ(tx.positions().Get(3)->take_profit, p.take_profit);
    return absl::OkStatus();
  }).ok());

  // The UNIQUE (strategy, client order id) constraint survived.
  Order dup{.strategy_id = "s1", .client_order_id = "c1", .symbol = "BTC-USDT",
            .quantity = D("1")};
  EXPECT_EQ(store->Transact([&](Tx& tx) { return tx.orders().Insert(&dup); }).code(),
            absl::StatusCode::kAlreadyExists);

  soci::session sql(Backend(target.dialect), target.connect);
  EXPECT_EQ(IndexNames(sql, target.dialect), indexes_before);
  // The widened CHECK still refuses a type BloFin does not have.
  EXPECT_THROW(sql << "INSERT INTO orders (strategy_id, client_order_id, symbol, side, type, "
                      "quantity, status, filled_quantity, average_price, fee, reduce_only, "
                      "mode, create_time, update_time) VALUES ('s1', 'c9', 'BTC-USDT', 'buy', "
                      "'stop', '1', 'open', '0', '0', '0', 0, 'paper', 1, 1)",
               soci::soci_error);
  if (target.dialect == Dialect::kSqlite) {
    // Every fill still points at its order.
    int orphans = -1;
    sql << "SELECT COUNT(*) FROM fills WHERE order_id NOT IN (SELECT id FROM orders)",
        soci::into(orphans);
    EXPECT_EQ(orphans, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationUpgradeTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
