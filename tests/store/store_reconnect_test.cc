// The database going away and coming back (PostgreSQL behind a TCP proxy the
// test cuts): calls fail with UNAVAILABLE and a clear message while it is
// gone, nothing is half-written, and the next call after it is back works.
#include <memory>

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "server/store/sql_errors.h"
#include "server/store/store.h"
#include "tests/support/pg_url.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
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
  // One line a caller may see: no libpq text with host and port (that is
  // in the log).
  for (const absl::Status& s : {write, read}) {
    EXPECT_THAT(s.message(), HasSubstr("database unavailable during "));
    EXPECT_THAT(s.message(), Not(HasSubstr("\n")));
    EXPECT_THAT(s.message(), Not(HasSubstr("127.0.0.1")));
    EXPECT_THAT(s.message(), Not(HasSubstr(std::to_string(proxy.port()))));
  }

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

// A PostgreSQL restart as the pool sees it: every server process of the
// database is terminated (what a restart does to open connections, SQLSTATE
// 57P01) while calls go on. Each call is OK or UNAVAILABLE with one line
// naming no host or port, never INTERNAL; the next ones work.
TEST(StoreReconnect, TerminatedConnectionsAreUnavailableNeverInternal) {
  TestDatabase db("postgresql");
  XCTL_REQUIRE_DATABASE(db);
  auto store = Store::Open({.url = db.url(), .pool_size = 4});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Transact([](Tx& tx) { return tx.strategies().Insert(Strategy("a")); }).ok());

  PGconn* admin = PQconnectdb(PostgresConnInfo(db.url()).value().c_str());
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK) << PQerrorMessage(admin);
  auto terminate_others = [&] {
    PGresult* r = PQexec(admin,
                         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(admin);
    PQclear(r);
  };
  int unavailable = 0;
  for (int round = 0; round < 3; ++round) {
    terminate_others();
    for (int i = 0; i < 8; ++i) {
      std::string id = absl::StrCat("r", round, "-", i);
      absl::Status st = i % 2 == 0
          ? (*store)->Transact([&](Tx& tx) { return tx.strategies().Insert(Strategy(id)); })
          : (*store)->Read([](Tx& tx) { return tx.strategies().List().status(); });
      if (st.ok()) continue;
      ++unavailable;
      EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
      EXPECT_THAT(st.message(), Not(HasSubstr("\n")));
      EXPECT_THAT(st.message(), Not(HasSubstr("5432")));
      EXPECT_THAT(st.message(), Not(HasSubstr("127.0.0.1")));
    }
  }
  PQfinish(admin);
  // Afterwards every pooled session works again.
  for (int i = 0; i < 8; ++i) {
    absl::Status st = (*store)->Read([](Tx& tx) { return tx.strategies().List().status(); });
    EXPECT_TRUE(st.ok()) << st;
  }
  ::testing::Test::RecordProperty("unavailable_calls", unavailable);
}

// What a restarting PostgreSQL answers on its port: every new connection
// gets FATAL 57P03 "the database system is starting up" (after refusing
// SSL), as the real server does until recovery ends.
class StartingUpServer {
 public:
  explicit StartingUpServer(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(fd_, 16) == 0;
    if (ok_) thread_ = std::thread([this] { Serve(); });
  }
  ~StartingUpServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return ok_; }

 private:
  static bool ReadAll(int fd, char* buf, size_t n) {
    while (n > 0) {
      ssize_t got = read(fd, buf, n);
      if (got <= 0) return false;
      buf += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  void Serve() {
    while (true) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      while (true) {
        char head[8];
        if (!ReadAll(c, head, sizeof(head))) break;
        uint32_t len = ntohl(*reinterpret_cast<uint32_t*>(head));
        uint32_t code = ntohl(*reinterpret_cast<uint32_t*>(head + 4));
        if (len == 8 && (code == 80877103 || code == 80877104)) {  // SSL / GSS request
          (void)!write(c, "N", 1);
          continue;
        }
        std::string rest(len > 8 ? len - 8 : 0, '\0');
        if (!ReadAll(c, rest.data(), rest.size())) break;
        std::string fields = std::string("SFATAL") + '\0' + "VFATAL" + '\0' + "C57P03" + '\0' +
                             "Mthe database system is starting up" + '\0' + '\0';
        uint32_t out_len = htonl(static_cast<uint32_t>(fields.size() + 4));
        std::string msg = "E" + std::string(reinterpret_cast<char*>(&out_len), 4) + fields;
        (void)!write(c, msg.data(), msg.size());
        break;
      }
      close(c);
    }
  }
  int fd_ = -1;
  bool ok_ = false;
  std::thread thread_;
};

// A PostgreSQL restart with the server down for a while: the old
// connections are cut, new ones are refused as "starting up". Calls are
// UNAVAILABLE on one line without host or port (never INTERNAL), and work
// once the server is back.
TEST(StoreReconnect, ARestartingServerIsUnavailableNeverInternal) {
  TestDatabase db("postgresql");
  XCTL_REQUIRE_DATABASE(db);
  TcpProxy proxy(xctl::testing::PgPort(db.url()));
  auto store = Store::Open({.url = xctl::testing::WithPgPort(db.url(), proxy.port())});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Transact([](Tx& tx) { return tx.strategies().Insert(Strategy("a")); }).ok());
  proxy.Cut();
  {
    StartingUpServer starting(proxy.port());
    ASSERT_TRUE(starting.ok());
    for (int i = 0; i < 6; ++i) {
      std::string id = absl::StrCat("s", i);
      absl::Status st = i % 2 == 0
          ? (*store)->Transact([&](Tx& tx) { return tx.strategies().Insert(Strategy(id)); })
          : (*store)->Read([](Tx& tx) { return tx.strategies().List().status(); });
      EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
      EXPECT_THAT(st.message(), HasSubstr("database unavailable during "));
      EXPECT_THAT(st.message(), Not(HasSubstr("\n")));
      EXPECT_THAT(st.message(), Not(HasSubstr("127.0.0.1")));
      EXPECT_THAT(st.message(), Not(HasSubstr(std::to_string(proxy.port()))));
    }
  }
  proxy.Resume();
  for (int i = 0; i < 8; ++i) {
    absl::Status st = (*store)->Read([](Tx& tx) { return tx.strategies().List().status(); });
    EXPECT_TRUE(st.ok()) << st;
  }
}

// The mapping itself, for machines where the tests cannot fill a disk
// (hostile_e2e_test mounts a small tmpfs as root) or restart PostgreSQL.
TEST(SqlErrors, FaultsOfTheDatabaseAreUnavailableOnOneLineWithoutHostOrPort) {
  using store_internal::Guard;
  absl::Status full = Guard("transaction", []() -> absl::Status {
    throw soci::sqlite3_soci_error("sqlite3_statement_backend::loadOne: database or disk is full",
                                   13);
  });
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(full.message(), HasSubstr("database full during transaction"));
  absl::Status lost = Guard("read", []() -> absl::Status {
    throw soci::postgresql_soci_error(
        "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP connections?\n",
        "08006");
  });
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(lost.message(), HasSubstr("database unavailable during read"));
  for (const absl::Status& s : {full, lost}) {
    EXPECT_THAT(s.message(), Not(HasSubstr("\n")));
    EXPECT_THAT(s.message(), Not(HasSubstr("5432")));
    EXPECT_THAT(s.message(), Not(HasSubstr("127.0.0.1")));
  }
  absl::Status shutdown = Guard("read", []() -> absl::Status {
    throw soci::postgresql_soci_error(
        "FATAL:  terminating connection due to administrator command\n", "57P01");
  });
  EXPECT_EQ(shutdown.code(), absl::StatusCode::kUnavailable);
  absl::Status duplicate = Guard("insert order", []() -> absl::Status {
    throw soci::postgresql_soci_error(
        "ERROR:  duplicate key value violates unique constraint \"orders_pkey\"\n"
        "DETAIL:  Key (id)=(7) already exists.\n",
        "23505");
  });
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(duplicate.message(), Not(HasSubstr("\n")));
}

}  // namespace
}  // namespace xctl
