// Repositories: typed access to one table each, bound to the session of a
// Tx (see store.h). Each method returns absl::Status / StatusOr; SOCI errors
// are mapped by the store (UNAVAILABLE, ALREADY_EXISTS, INTERNAL).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/model/funding_payment.h"
#include "server/model/types.h"

namespace soci {
class session;
}

namespace xctl {

// One row of `strategies`.
struct StrategyRecord {
  std::string id;
  std::string name;
  std::string type;
  std::vector<std::string> pairs;
  std::map<std::string, std::string> params;
  Decimal starting_balance;
  Decimal leverage = Decimal::FromInt(1);
  std::optional<Decimal> taker_fee_rate;
  std::optional<Decimal> maker_fee_rate;
  bool running = false;
  // Encrypted credentials (never plaintext in the store); nullopt: paper.
  std::optional<std::string> credentials_ciphertext;
  std::optional<std::string> signal_secret_hash;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::optional<int64_t> deleted_at_ms;
};

// Keyset pagination: newest first; `before_id` = 0 starts at the newest.
struct Page {
  int limit = 100;
  int64_t before_id = 0;
};

class Repository {
 public:
  explicit Repository(soci::session& session) : session_(session) {}

 protected:
  soci::session& session_;
};

class StrategyRepository : Repository {
 public:
  using Repository::Repository;
  // ALREADY_EXISTS when the id is taken (also by a deleted strategy).
  [[nodiscard]] absl::Status Insert(const StrategyRecord& s);
  // Replaces every column; NOT_FOUND when missing.
  [[nodiscard]] absl::Status Update(const StrategyRecord& s);
  // NOT_FOUND when missing or deleted.
  [[nodiscard]] absl::StatusOr<StrategyRecord> Get(absl::string_view id);
  // Strategies not deleted, by id.
  [[nodiscard]] absl::StatusOr<std::vector<StrategyRecord>> List();
  [[nodiscard]] absl::Status SoftDelete(absl::string_view id, int64_t now_ms);
};

struct OrderFilter {
  std::string strategy_id;                 // empty: any
  std::vector<std::string> strategy_ids;   // non-empty: one of these
  std::string symbol;                      // empty: any
  std::optional<OrderStatus> status;
};

class OrderRepository : Repository {
 public:
  using Repository::Repository;
  // Sets order->id. ALREADY_EXISTS for a (strategy, client order id) seen before.
  [[nodiscard]] absl::Status Insert(Order* order);
  [[nodiscard]] absl::Status Update(const Order& order);
  // Deletes order `id` if it was never placed (no exchange order id): a live
  // exchange's write-ahead row of an order the exchange refused
  // (BlofinExchange::Send). NOT_FOUND when there is no such row.
  [[nodiscard]] absl::Status DeleteUnplaced(int64_t id);
  [[nodiscard]] absl::StatusOr<Order> Get(int64_t id);
  // nullopt when there is none.
  [[nodiscard]] absl::StatusOr<std::optional<Order>> GetByClientOrderId(
      absl::string_view strategy_id, absl::string_view client_order_id);
  // Open and partially filled orders of a strategy / of a symbol, oldest first.
  [[nodiscard]] absl::StatusOr<std::vector<Order>> ListResting(absl::string_view strategy_id);
  [[nodiscard]] absl::StatusOr<std::vector<Order>> ListRestingBySymbol(absl::string_view symbol);
  [[nodiscard]] absl::StatusOr<std::vector<Order>> List(const OrderFilter& filter, Page page);
  // Orders of a strategy whose client order id starts with `prefix` (the
  // paper exchange's liquidations: "liq-").
  [[nodiscard]] absl::StatusOr<int64_t> CountWithClientPrefix(absl::string_view strategy_id,
                                                              absl::string_view prefix);
};

class FillRepository : Repository {
 public:
  using Repository::Repository;
  [[nodiscard]] absl::Status Insert(Fill* fill);
  [[nodiscard]] absl::StatusOr<std::vector<Fill>> ListByOrder(int64_t order_id);
  [[nodiscard]] absl::StatusOr<std::vector<Fill>> ListByStrategy(absl::string_view strategy_id);
};

struct PositionFilter {
  std::string strategy_id;
  std::vector<std::string> strategy_ids;
  std::string symbol;
  std::optional<PositionStatus> status;
};

class PositionRepository : Repository {
 public:
  using Repository::Repository;
  // Sets position->id. ALREADY_EXISTS for a second open row of one
  // (strategy, symbol).
  [[nodiscard]] absl::Status Insert(Position* position);
  [[nodiscard]] absl::Status Update(const Position& position);
  [[nodiscard]] absl::StatusOr<Position> Get(int64_t id);
  [[nodiscard]] absl::StatusOr<std::optional<Position>> GetOpen(
      absl::string_view strategy_id, absl::string_view symbol);
  [[nodiscard]] absl::StatusOr<std::vector<Position>> ListOpen(absl::string_view strategy_id);
  [[nodiscard]] absl::StatusOr<std::vector<Position>> ListOpenAll();
  [[nodiscard]] absl::StatusOr<std::vector<Position>> List(const PositionFilter& filter, Page page);
};

// Funding settlements (server/model/funding_payment.h). One row per
// (strategy, symbol, settlement time): recording a settlement twice (a retry,
// a restart) is a no-op, which is what keeps funding counted once.
class FundingRepository : Repository {
 public:
  using Repository::Repository;
  // Inserts the row and sets payment->id; returns false (and stores nothing)
  // when the strategy already has a row for that symbol and settlement time.
  [[nodiscard]] absl::StatusOr<bool> InsertOnce(FundingPayment* payment);
  // The strategy's rows, oldest settlement first.
  [[nodiscard]] absl::StatusOr<std::vector<FundingPayment>> ListByStrategy(
      absl::string_view strategy_id);
  // The latest settlement time recorded for (strategy, symbol), if any.
  [[nodiscard]] absl::StatusOr<std::optional<int64_t>> LastSettlement(
      absl::string_view strategy_id, absl::string_view symbol);
};

class AccountRepository : Repository {
 public:
  using Repository::Repository;
  [[nodiscard]] absl::Status Upsert(const Account& account);
  [[nodiscard]] absl::StatusOr<std::optional<Account>> Get(absl::string_view strategy_id);
};

}  // namespace xctl
