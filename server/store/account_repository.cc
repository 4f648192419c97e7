// AccountRepository: the `accounts` table (see repositories.h).
#include "server/store/repositories.h"

#include <soci/soci.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/store/row_codecs.h"
#include "server/store/row_queries.h"
#include "server/store/sql_errors.h"

namespace xctl {
namespace {

using store_internal::Guard;
using store_internal::Maybe;
using store_internal::ParseStored;
using store_internal::Query;

struct AccountRow {
  std::string strategy_id, starting_balance, balance, margin_used, leverage;
  long long update_time = 0;
  void Into(soci::details::prepare_temp_type& p) {
    p, soci::into(strategy_id), soci::into(starting_balance), soci::into(balance),
        soci::into(margin_used), soci::into(leverage), soci::into(update_time);
  }
  absl::StatusOr<Account> ToAccount() const {
    Account a;
    a.strategy_id = strategy_id;
    XCTL_ASSIGN_OR_RETURN(a.starting_balance, ParseStored(starting_balance, "accounts.starting_balance"));
    XCTL_ASSIGN_OR_RETURN(a.balance, ParseStored(balance, "accounts.balance"));
    XCTL_ASSIGN_OR_RETURN(a.margin_used, ParseStored(margin_used, "accounts.margin_used"));
    XCTL_ASSIGN_OR_RETURN(a.leverage, ParseStored(leverage, "accounts.leverage"));
    a.update_time_ms = update_time;
    return a;
  }
};

}  // namespace

absl::Status AccountRepository::Upsert(const Account& a) {
  return Guard(absl::StrCat("save account ", a.strategy_id), [&]() -> absl::Status {
    std::string start = a.starting_balance.ToString(), balance = a.balance.ToString();
    std::string margin = a.margin_used.ToString(), leverage = a.leverage.ToString();
    long long t = a.update_time_ms;
    session_ << "INSERT INTO accounts (strategy_id, starting_balance, balance, margin_used, "
                "leverage, update_time) VALUES (:s, :sb, :b, :m, :l, :t) ON CONFLICT (strategy_id) "
                "DO UPDATE SET starting_balance = excluded.starting_balance, balance = "
                "excluded.balance, margin_used = excluded.margin_used, leverage = "
                "excluded.leverage, update_time = excluded.update_time",
        soci::use(a.strategy_id), soci::use(start), soci::use(balance), soci::use(margin),
        soci::use(leverage), soci::use(t);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<Account>> AccountRepository::Get(absl::string_view strategy_view) {
  std::string strategy(strategy_view);
  return Maybe(Query<AccountRow, Account>(
      "get account",
      [&](AccountRow& row) {
        auto p = (session_.prepare << "SELECT strategy_id, starting_balance, balance, margin_used, "
                                      "leverage, update_time FROM accounts WHERE strategy_id = :s");
        row.Into(p);
        p, soci::use(strategy);
        return soci::statement(p);
      },
      [](const AccountRow& r) { return r.ToAccount(); }));
}

}  // namespace xctl
