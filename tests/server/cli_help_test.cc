// The xctl CLI's help, version and flag errors, as a user meets them:
// --help and -h print the usage and every flag (dashed) and exit 0, a
// misspelt flag exits 2 naming the nearest, a flag of another command exits 2
// naming the command and its flags, --version names the version.
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using xctl::testing::BinaryPath;
using xctl::testing::MakeTempDir;
using xctl::testing::Subprocess;

struct CliRun {
  int code;
  std::string out, err;
};

CliRun Xctl(std::vector<std::string> args) {
  args.insert(args.begin(), BinaryPath("client/cli/xctl"));
  Subprocess p(args, MakeTempDir("cli") + "/xctl");
  std::optional<int> code = p.Wait(absl::Seconds(30));
  return {code.value_or(-1), p.Stdout(), p.Stderr()};
}

TEST(CliHelp, HelpAndDashHPrintTheCommandsAndEveryFlagAndExitZero) {
  for (const char* help : {"--help", "-h"}) {
    CliRun r = Xctl({help});
    EXPECT_EQ(r.code, 0) << help << r.err;
    EXPECT_THAT(r.out, HasSubstr("Usage: xctl"));
    EXPECT_THAT(r.out, HasSubstr("strategies set-credentials ID"));
    for (const char* flag : {"--server=VALUE", "--client-order-id=VALUE", "--reduce-only",
                             "--watch", "--version"}) {
      EXPECT_THAT(r.out, HasSubstr(flag)) << help;
    }
    EXPECT_THAT(r.out + r.err, Not(HasSubstr("No flags matched")));
    EXPECT_THAT(r.out + r.err, Not(HasSubstr("xctl: xctl:")));
  }
}

TEST(CliHelp, ACommandsHelpShowsThatCommandAndItsFlagsOnly) {
  CliRun r = Xctl({"order", "place", "--help"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Usage: xctl order place"));
  EXPECT_THAT(r.out, HasSubstr("--take-profit-price=VALUE"));
  EXPECT_THAT(r.out, HasSubstr("Global flags"));
  EXPECT_THAT(r.out, Not(HasSubstr("order cancel")));
  EXPECT_THAT(r.out, Not(HasSubstr("--action=VALUE")));  // signal's, not order place's
  r = Xctl({"positions", "-h"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--status=VALUE"));
  EXPECT_THAT(r.out, Not(HasSubstr("--quantity=VALUE")));
  r = Xctl({"nosuchcommand", "--help"});  // unknown: the whole help
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("strategies set-credentials ID"));
}

TEST(CliHelp, AMisspeltFlagIsAUsageErrorNamingTheNearest) {
  CliRun r = Xctl({"positions", "--stauts=all"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown flag --stauts (did you mean --status?)"));
  r = Xctl({"--h"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--help lists the flags"));
}

TEST(CliHelp, AFlagOfAnotherCommandIsAUsageErrorNamingTheCommandsFlags) {
  // Nothing listens on port 1: a flag that got through would make the call
  // fail with exit 1 (UNAVAILABLE), not 2.
  const std::string server = "--server=127.0.0.1:1";
  CliRun r = Xctl({server, "prices", "--strategy", "s1"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("xctl prices: flag --strategy does not belong to this command; "
                               "its flags are --watch, --updates "
                               "(xctl prices --help lists its flags)"));
  r = Xctl({server, "positions", "--strategy=s1", "--quantity", "1"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("xctl positions: flag --quantity does not belong"));
  EXPECT_THAT(r.err, HasSubstr("--strategy, --type, --status, --limit"));
  r = Xctl({server, "strategies", "get", "sma-btc", "--watch"});  // a switch, after an operand
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("xctl strategies get: flag --watch does not belong to this "
                               "command; it takes only the global flags (--server, --json, "
                               "--timeout, --ca, --token-stdin)"));
  r = Xctl({server, "strategies", "list", "--nowatch"});  // --noNAME of a boolean
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("flag --watch does not belong"));
  r = Xctl({server, "order", "cancel", "--strategy", "s1", "--order-id", "7", "--side=buy"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("xctl order cancel: flag --side does not belong"));
  // A value that looks like a command's flag is a value: --symbol's here.
  r = Xctl({server, "close", "--strategy", "s1", "--symbol", "--price"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
}

TEST(CliHelp, EachCommandsOwnAndTheGlobalFlagsAreAccepted) {
  // Each reaches the (absent) server: exit 1, never a usage error.
  const std::vector<std::vector<std::string>> lines = {
      {"prices", "BTC-USDT", "--json", "--timeout=2s"},
      {"positions", "--type", "sma_cross", "--status", "all", "--limit", "5"},
      {"orders", "--strategy", "s1", "--status", "filled", "--limit=5"},
      {"kpis", "--type", "tradingview"},
      {"balance", "--strategy", "s1", "--json"},
      {"order", "place", "--strategy", "s1", "--symbol", "BTC-USDT", "--side", "buy",
       "--quantity", "1", "--price", "60000", "--order-type", "post_only", "--client-order-id",
       "c1", "--reduce-only", "--take-profit", "70000", "--take-profit-price", "69990",
       "--stop-loss", "50000", "--stop-loss-price", "49990"},
      {"order", "cancel", "--strategy", "s1", "--order-id", "7"},
      {"close", "--strategy", "s1", "--symbol", "BTC-USDT", "--quantity", "1",
       "--client-order-id", "c2"},
      {"signal", "--strategy", "s1", "--action", "buy", "--symbol", "BTC-USDT", "--quantity", "1",
       "--price", "1", "--client-order-id", "c3", "--comment", "hello"},
      {"strategies", "list", "--type", "sma_cross"},
      {"strategies", "create", "--strategy", "s2", "--type", "external", "--pairs", "BTC-USDT",
       "--name", "two", "--params", "a=1", "--starting-balance", "100", "--leverage", "2",
       "--start"},
      {"strategies", "delete", "s2", "--json"},
  };
  for (std::vector<std::string> line : lines) {
    line.insert(line.begin(), "--server=127.0.0.1:1");
    CliRun r = Xctl(line);
    EXPECT_EQ(r.code, 1) << line[1] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE")) << line[1];
  }
}

TEST(CliHelp, ACommandsHelpListsTheFlagsItAccepts) {
  // What --help lists for close is what close accepts: --client-order-id too.
  CliRun r = Xctl({"close", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: xctl close ..."));
  EXPECT_THAT(r.out, HasSubstr("--client-order-id=VALUE"));
  EXPECT_THAT(r.out, HasSubstr("Closes a strategy's position"));
  EXPECT_THAT(r.out, HasSubstr("Global flags (with every command): --server, --json"));
  r = Xctl({"order", "--help"});  // a group: each of its commands
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("order place --strategy ID"));
  EXPECT_THAT(r.out, HasSubstr("order cancel --strategy ID"));
  EXPECT_THAT(r.out, HasSubstr("--order-id=VALUE"));
  r = Xctl({"strategies", "get", "sma-btc", "-h"});  // an operand before the help
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: xctl strategies get ..."));
  EXPECT_THAT(r.out, Not(HasSubstr("Flags:")));
}

TEST(CliHelp, VersionNamesTheProjectVersion) {
  CliRun r = Xctl({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, ::testing::MatchesRegex("xctl [0-9]+\\.[0-9]+\\.[0-9]+ \\(git [^)]+\\)\n"));
}

}  // namespace
}  // namespace xctl
