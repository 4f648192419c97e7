// Shell completion of the xctl CLI, as a shell runs it: `xctl completion bash`
// is sourced into a real bash, whose completion function is called with
// COMP_WORDS / COMP_CWORD (and COMP_LINE / COMP_POINT) as bash sets them; the
// zsh script is loaded by a real zsh after compinit, registered for xctl, and
// its function run with words / CURRENT set and compadd recording what it is
// offered.
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"

namespace xctl {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using xctl::testing::BinaryPath;
using xctl::testing::MakeTempDir;
using xctl::testing::Subprocess;

struct ShellRun {
  int code;
  std::string out, err;
};

ShellRun Shell(const std::vector<std::string>& argv) {
  Subprocess p(argv, MakeTempDir("completion") + "/shell",
               {"XCTL=" + BinaryPath("client/cli/xctl")});
  std::optional<int> code = p.Wait(absl::Seconds(30));
  return {code.value_or(-1), p.Stdout(), p.Stderr()};
}

std::vector<std::string> Words(const std::string& out) {
  std::vector<std::string> words = absl::StrSplit(out, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  std::sort(words.begin(), words.end());
  return words;
}

// What bash offers for `line` (the text before the cursor), calling _xctl as
// bash does: COMP_WORDS split at blanks and at `breaks` (COMP_WORDBREAKS'
// '='), COMP_CWORD the last of them, and COMP_LINE / COMP_POINT unless
// `words_only`.
std::vector<std::string> Bash(const std::string& line, bool words_only = false,
                              const std::string& breaks = "\"'><=;|&(:") {
  const std::string script = R"(
set -u
source <("$XCTL" completion bash) || exit 3
line="$1"
words=()
read -ra words <<< "${line//=/ = }"
[[ "$line" == *" " || "$line" == *"=" ]] && words+=("")
if [[ "$2" != *=* ]]; then read -ra words <<< "$line"; [[ "$line" == *" " ]] && words+=(""); fi
COMP_WORDS=("${words[@]}")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_WORDBREAKS="$2"
if [ "$3" = 0 ]; then COMP_LINE="$line"; COMP_POINT=${#line}; fi
COMPREPLY=()
_xctl
printf '%s\n' "${COMPREPLY[@]}"
)";
  ShellRun r = Shell({"/bin/bash", "-c", script, "bash", line, breaks, words_only ? "1" : "0"});
  EXPECT_EQ(r.code, 0) << line << ": " << r.err;
  EXPECT_EQ(r.err, "") << line;
  return Words(r.out);
}

TEST(CliCompletion, BashRegistersItsFunctionForXctl) {
  ShellRun r = Shell({"/bin/bash", "-c", "source <(\"$XCTL\" completion bash) && complete -p xctl"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "complete -F _xctl xctl\n");
}

TEST(CliCompletion, AnotherShellIsAUsageError) {
  ShellRun r = Shell({BinaryPath("client/cli/xctl"), "completion", "fish"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no completion for \"fish\" (bash or zsh)"));
  r = Shell({BinaryPath("client/cli/xctl"), "completion"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing shell (bash or zsh)"));
}

TEST(CliCompletion, BashCompletesCommandsAndSubcommands) {
  EXPECT_THAT(Bash("xctl pr"), ElementsAre("prices"));
  EXPECT_THAT(Bash("xctl po"), ElementsAre("positions"));
  EXPECT_THAT(Bash("xctl o"), ElementsAre("order", "orders"));
  EXPECT_THAT(Bash("xctl "), IsSupersetOf({"prices", "positions", "orders", "kpis", "balance",
                                          "order", "close", "signal", "strategies",
                                          "completion", "help"}));
  EXPECT_THAT(Bash("xctl order "), ElementsAre("cancel", "place"));
  EXPECT_THAT(Bash("xctl strategies s"), ElementsAre("set-credentials", "start", "stop"));
  EXPECT_THAT(Bash("xctl --server 127.0.0.1:50051 --json strategies cl"),
              ElementsAre("clear-credentials"));
  EXPECT_THAT(Bash("xctl completion "), ElementsAre("bash", "zsh"));
  EXPECT_THAT(Bash("xctl strategies get "), ElementsAre());  // an id: nothing to offer
  // COMP_WORDS and COMP_CWORD alone, as a caller without COMP_LINE sets them.
  EXPECT_THAT(Bash("xctl pr", /*words_only=*/true), ElementsAre("prices"));
  EXPECT_THAT(Bash("xctl order ", /*words_only=*/true), ElementsAre("cancel", "place"));
}

TEST(CliCompletion, BashCompletesACommandsOwnFlagsAndTheGlobalOnes) {
  const std::vector<std::string> global = {"--server", "--json",        "--timeout",
                                           "--ca",     "--token-stdin", "--help"};
  std::vector<std::string> prices = Bash("xctl prices --");
  EXPECT_THAT(prices, IsSupersetOf({"--watch", "--updates"}));
  EXPECT_THAT(prices, IsSupersetOf(global));
  EXPECT_EQ(prices.size(), global.size() + 2) << absl::StrJoin(prices, " ");
  EXPECT_THAT(prices, Not(Contains("--strategy")));
  EXPECT_THAT(Bash("xctl order place --take"), ElementsAre("--take-profit", "--take-profit-price"));
  EXPECT_THAT(Bash("xctl order cancel --strategy s1 --"),
              IsSupersetOf({"--strategy", "--order-id", "--client-order-id"}));
  EXPECT_THAT(Bash("xctl order cancel --strategy s1 --"), Not(Contains("--side")));
  EXPECT_THAT(Bash("xctl strategies get sma-btc --"), UnorderedElementsAre(
      "--server", "--json", "--timeout", "--ca", "--token-stdin", "--help"));
  EXPECT_THAT(Bash("xctl --"), UnorderedElementsAre("--server", "--json", "--timeout", "--ca",
                                                   "--token-stdin", "--help"));
  EXPECT_THAT(Bash("xctl signal --s"), ElementsAre("--secret-stdin", "--server", "--strategy",
                                                  "--symbol"));
}

TEST(CliCompletion, BashCompletesTheValuesASynopsisNames) {
  EXPECT_THAT(Bash("xctl order place --side "), ElementsAre("buy", "sell"));
  EXPECT_THAT(Bash("xctl order place --order-type p"), ElementsAre("post_only"));
  EXPECT_THAT(Bash("xctl positions --status "), ElementsAre("all", "closed", "open"));
  EXPECT_THAT(Bash("xctl orders --status f"), ElementsAre("filled"));
  EXPECT_THAT(Bash("xctl signal --action c"), ElementsAre("close"));
  EXPECT_THAT(Bash("xctl order place --strategy "), ElementsAre());  // an id
  // --side=b: bash's word is "b" when COMP_WORDBREAKS splits at '=', else all of it.
  EXPECT_THAT(Bash("xctl order place --side=b"), ElementsAre("buy"));
  EXPECT_THAT(Bash("xctl order place --side=b", false, " "), ElementsAre("--side=buy"));
  // A flag's value is not a command word: the command is still found after it.
  EXPECT_THAT(Bash("xctl --timeout 5s order place --quantity 1 --re"), ElementsAre("--reduce-only"));
}

TEST(CliCompletion, BashCompletesFilesForTheCaFlag) {
  const std::string dir = MakeTempDir("ca-files");
  ShellRun r = Shell({"/bin/bash", "-c",
                 "cd \"$1\" && touch ca.pem cb.pem && source <(\"$XCTL\" completion bash) && "
                 "COMP_LINE='xctl --ca c' COMP_POINT=11 COMP_WORDS=(xctl --ca c) COMP_CWORD=2 "
                 "&& _xctl && printf '%s\\n' \"${COMPREPLY[@]}\"",
                 "bash", dir});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(Words(r.out), ElementsAre("ca.pem", "cb.pem"));
}

// Every flag of xctl is offered by the completion of some command or is
// global: the table leaves no flag out (a flag no command takes would be
// refused everywhere).
TEST(CliCompletion, EveryFlagOfTheHelpBelongsToSomeCommand) {
  ShellRun help = Shell({BinaryPath("client/cli/xctl"), "--help"});
  ASSERT_EQ(help.code, 0);
  std::set<std::string> flags;
  const std::string listed = help.out.substr(help.out.find("\nFlags:\n"));
  for (absl::string_view line : absl::StrSplit(listed, '\n')) {
    if (!absl::StartsWith(line, "  --")) continue;
    line.remove_prefix(2);
    flags.insert(std::string(line.substr(0, line.find_first_of("= "))));
  }
  ASSERT_GT(flags.size(), 20u);
  std::set<std::string> offered = {"--version"};
  for (const std::string& top : Bash("xctl ")) {
    std::vector<std::string> leaves = Bash("xctl " + top + " ");
    if (top == "order" || top == "strategies") {
      for (std::string& sub : leaves) sub = top + " " + sub;
    } else {
      leaves = {top};
    }
    for (const std::string& leaf : leaves) {
      for (const std::string& f : Bash("xctl " + leaf + " --")) offered.insert(f);
    }
  }
  for (const std::string& f : flags) EXPECT_TRUE(offered.count(f)) << f << " belongs to no command";
}

// zsh after compinit, as in a ~/.zshrc: the script registers _xctl for xctl;
// then _xctl is called as compsys calls it, with compadd and compset stubbed
// to print what they are given (compsys itself matches the word's prefix).
std::vector<std::string> Zsh(const std::vector<std::string>& words) {
  EXPECT_EQ(access("/usr/bin/zsh", X_OK), 0) << "no /usr/bin/zsh: scripts/setup installs it";
  const std::string script = R"(
autoload -U compinit && compinit -u -d "$ZDOTDIR/.zcompdump" || exit 3
source <("$XCTL" completion zsh) || exit 4
[[ "$_comps[xctl]" == _xctl ]] || { print -u2 "not registered: $_comps[xctl]"; exit 5; }
compadd() { while [[ $# -gt 0 && "$1" != -- ]]; do shift; done; shift; print -rl -- "$@"; }
compset() { print -r -- "compset $*"; }
_files() { print -r -- FILES; }
words=("${@}")
CURRENT=$#
_xctl
)";
  std::vector<std::string> argv = {"/usr/bin/zsh", "-f", "-c", script, "zsh"};
  argv.insert(argv.end(), words.begin(), words.end());
  const std::string home = MakeTempDir("zsh-home");
  Subprocess p(argv, home + "/zsh",
               {"XCTL=" + BinaryPath("client/cli/xctl"), "ZDOTDIR=" + home, "HOME=" + home});
  std::optional<int> code = p.Wait(absl::Seconds(30));
  EXPECT_EQ(code, 0) << absl::StrJoin(words, " ") << ": " << p.Stderr();
  return Words(p.Stdout());
}

TEST(CliCompletion, ZshScriptParses) {
  ASSERT_EQ(access("/usr/bin/zsh", X_OK), 0) << "no /usr/bin/zsh: scripts/setup installs it";
  ShellRun n = Shell({"/usr/bin/zsh", "-f", "-c", "zsh -n <(\"$XCTL\" completion zsh)"});
  EXPECT_EQ(n.code, 0) << n.err;
  EXPECT_EQ(n.err, "");
}

TEST(CliCompletion, ZshCompletesCommandsFlagsAndValues) {
  EXPECT_THAT(Zsh({"xctl", "pr"}), IsSupersetOf({"prices", "positions", "orders", "strategies"}));
  EXPECT_THAT(Zsh({"xctl", "order", ""}), ElementsAre("cancel", "place"));
  std::vector<std::string> prices = Zsh({"xctl", "prices", "--"});
  EXPECT_THAT(prices, IsSupersetOf({"--watch", "--updates", "--server", "--json"}));
  EXPECT_THAT(prices, Not(Contains("--strategy")));
  EXPECT_THAT(Zsh({"xctl", "order", "place", "--side", ""}), ElementsAre("buy", "sell"));
  EXPECT_THAT(Zsh({"xctl", "order", "place", "--side=b"}),
              ElementsAre("*=", "-P", "buy", "compset", "sell"));
  EXPECT_THAT(Zsh({"xctl", "--ca", ""}), ElementsAre("*=", "-P", "FILES", "compset"));
  EXPECT_THAT(Zsh({"xctl", "completion", ""}), ElementsAre("bash", "zsh"));
}

}  // namespace
}  // namespace xctl
