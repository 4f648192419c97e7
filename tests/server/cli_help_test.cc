// The xctl CLI's help, version and flag errors, as a user meets them:
// --help and -h print the usage and every flag (dashed) and exit 0, a
// misspelt flag exits 2 naming the nearest, --version names the version.
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

TEST(CliHelp, VersionNamesTheProjectVersion) {
  CliRun r = Xctl({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, ::testing::MatchesRegex("xctl [0-9]+\\.[0-9]+\\.[0-9]+ \\(git [^)]+\\)\n"));
}

}  // namespace
}  // namespace xctl
