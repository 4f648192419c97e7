// server/common/flag_help.h on flags of its own: the nearest name (the
// misspelt-flag and the flag-of-another-command messages of xctld and xctl),
// the lines of chosen flags (a command's --help) and the unknown-flag check.
#include "server/common/flag_help.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, take_profit_price, "", "limit price of the take-profit close");
ABSL_FLAG(int, page_limit, 50, "rows to list");
ABSL_FLAG(bool, reduce_only, false, "the order may only reduce a position");

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const FlagFileFilter kOwn = [](absl::string_view file) {
  return absl::StrContains(file, "flag_help_test");
};

TEST(NearestName, IsAtMostTwoEditsAwayOrStartsWithTheName) {
  const std::vector<std::string> names = {"strategy", "status", "symbol", "take_profit_price"};
  EXPECT_EQ(NearestName("stauts", names), "status");      // a swap of neighbours is one edit
  EXPECT_EQ(NearestName("strategie", names), "strategy");
  EXPECT_EQ(NearestName("symbl", names), "symbol");
  EXPECT_EQ(NearestName("take_profit", names), "take_profit_price");  // a prefix
  EXPECT_EQ(NearestName("st", names), "");               // too short to be a prefix, 3+ edits
  EXPECT_EQ(NearestName("quantity", names), "");
  EXPECT_EQ(NearestName("status", {}), "");
}

TEST(FlagTable, ListsTheNamedOwnFlagsInTheGivenOrderWithDefaults) {
  const std::string table =
      FlagTable({"reduce_only", "take_profit_price", "page_limit", "no_such_flag", "help"}, kOwn);
  EXPECT_LT(table.find("--reduce-only"), table.find("--take-profit-price=VALUE"));
  EXPECT_LT(table.find("--take-profit-price=VALUE"), table.find("--page-limit=VALUE"));
  EXPECT_THAT(table, HasSubstr("rows to list (default 50)"));
  EXPECT_THAT(table, Not(HasSubstr("no-such-flag")));
  EXPECT_THAT(table, Not(HasSubstr("--help")));  // Abseil's, not a file `own` accepts
}

TEST(CheckFlags, NamesTheNearestOwnFlag) {
  std::optional<std::string> e = CheckFlags({"prog", "--page_limt=5"}, kOwn);
  ASSERT_TRUE(e.has_value());
  EXPECT_THAT(*e, HasSubstr("unknown flag --page-limt (did you mean --page-limit?)"));
  EXPECT_FALSE(CheckFlags({"prog", "--noreduce_only", "--page_limit", "5"}, kOwn).has_value());
}

}  // namespace
}  // namespace xctl
