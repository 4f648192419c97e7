// Test support for the chaos run (cluster_chaos_test.cc): an audit of every
// write a strategy's owner makes, kept by PostgreSQL itself. Each xctld
// connects with `application_name=node<i>` in its database URL (libpq's
// parameter, passed through by the store and the lease table), and a trigger
// on the tables only a strategy's owner writes (orders, fills, positions,
// accounts, funding_payments) records, for every row inserted or updated, the
// writing node and the `strategy:<id>` lease row as that transaction sees it.
// A fenced write reads the lease row FOR SHARE before it writes
// (docs/store.md, "Fenced writes"), so a takeover cannot change the row
// between the fence and the trigger: a row whose writer is not the lease's
// holder is a write by a non-owner, which fencing must make impossible.
#pragma once

#include <soci/soci.h>
#include <soci/postgresql/soci-postgresql.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/store/store.h"

namespace xctl::testing {

// Installs the audit table and triggers (after the first xctld ran the
// migrations, before the load starts). Throws soci_error on failure.
inline void InstallWriteAudit(const std::string& url) {
  soci::session sql(soci::postgresql, PostgresConnInfo(url).value());
  sql << R"(CREATE TABLE chaos_writes (
      id BIGSERIAL PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL, strategy_id TEXT NOT NULL,
      writer TEXT NOT NULL, holder TEXT, epoch BIGINT, lease_live BOOLEAN,
      at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()))";
  sql << R"(CREATE FUNCTION chaos_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE h TEXT; e BIGINT; live BOOLEAN;
    BEGIN
      SELECT holder, epoch, expires_at > clock_timestamp() INTO h, e, live
        FROM cluster_leases WHERE name = 'strategy:' || NEW.strategy_id;
      INSERT INTO chaos_writes (tbl, op, strategy_id, writer, holder, epoch, lease_live)
        VALUES (TG_TABLE_NAME, TG_OP, NEW.strategy_id, current_setting('application_name'),
                h, e, live);
      RETURN NEW;
    END $$)";
  for (const char* table : {"orders", "fills", "positions", "accounts", "funding_payments"}) {
    sql << absl::StrCat("CREATE TRIGGER chaos_audit_", table, " AFTER INSERT OR UPDATE ON ",
                        table, " FOR EACH ROW EXECUTE FUNCTION chaos_audit()");
  }
}

struct WriteAudit {
  long long writes = 0;       // audited row writes
  long long past_expiry = 0;  // committed by the holder with the lease already expired
  // One line per (table, operation, strategy, writer, lease holder, epoch):
  // "orders INSERT p1 by node0 while lease held by node1/strategies epoch 4: 2 rows".
  std::vector<std::string> by_non_owner;
};

// Reads the audit. Lease holders are "<node>/strategies" (docs/cluster.md,
// "Strategy sharding"); the writer is the node's application_name.
inline WriteAudit ReadWriteAudit(const std::string& url) {
  WriteAudit out;
  soci::session sql(soci::postgresql, PostgresConnInfo(url).value());
  sql << "SELECT count(*) FROM chaos_writes", soci::into(out.writes);
  // A fenced write holds the lease row FOR SHARE, so the holder's own renewal
  // waits for it: the lease may pass its expiry while the write is in flight,
  // and the takeover then waits until it committed. Counted, not a violation.
  sql << "SELECT count(*) FROM chaos_writes WHERE lease_live IS NOT TRUE AND holder IS NOT NULL "
         "AND holder = writer || '/strategies'",
      soci::into(out.past_expiry);
  soci::rowset<soci::row> rows = (sql.prepare << R"(
      SELECT tbl, op, strategy_id, writer, COALESCE(holder, '(none)'), COALESCE(epoch, 0),
             CAST(count(*) AS BIGINT)
      FROM chaos_writes WHERE holder IS NULL OR holder <> writer || '/strategies'
      GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 3, 6)");
  for (const soci::row& r : rows) {
    out.by_non_owner.push_back(absl::StrCat(
        r.get<std::string>(0), " ", r.get<std::string>(1), " ", r.get<std::string>(2), " by ",
        r.get<std::string>(3), " while lease held by ", r.get<std::string>(4), " epoch ",
        r.get<long long>(5), ": ", r.get<long long>(6), " rows"));
  }
  return out;
}

// The audit's own check: a row written under another application_name (in
// a transaction rolled back, so nothing stays) is reported as a write by a
// non-owner. False if the trigger missed it.
inline bool AuditFlagsAnIntruder(const std::string& url) {
  soci::session sql(soci::postgresql,
                    PostgresConnInfo(url).value() + " application_name='intruder'");
  soci::transaction tx(sql);
  sql << "UPDATE accounts SET strategy_id = strategy_id "
         "WHERE strategy_id = (SELECT min(strategy_id) FROM accounts)";
  long long flagged = 0;
  sql << "SELECT count(*) FROM chaos_writes WHERE writer = 'intruder' "
         "AND (holder IS NULL OR holder <> writer || '/strategies')",
      soci::into(flagged);
  tx.rollback();
  return flagged > 0;
}

}  // namespace xctl::testing
