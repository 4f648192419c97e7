#include "client/cli/command_table.h"

#include <algorithm>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace xctl::cli {
namespace {

std::string Dashed(absl::string_view name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

std::string Join(const std::vector<std::string>& names) {
  return absl::StrJoin(names, ", ", [](std::string* out, const std::string& n) {
    absl::StrAppend(out, "--", Dashed(n));
  });
}

// The lines of one command in the usage text: "  name synopsis", continuation
// lines indented under the synopsis.
std::string Block(const CommandSpec& c) {
  const std::string indent(2 + c.name.size() + 1, ' ');
  std::string out;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(c.synopsis, '\n')) {
    if (first) {
      absl::StrAppend(&out, "  ", c.name, line.empty() ? "" : " ", line, "\n");
    } else {
      absl::StrAppend(&out, indent, line, "\n");
    }
    first = false;
  }
  return out;
}

// `--name` words of a synopsis, with the word after each ("--side buy|sell"
// gives {"side", "buy|sell"}).
std::vector<std::pair<std::string, std::string>> FlagWords(absl::string_view synopsis) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<absl::string_view> words =
      absl::StrSplit(synopsis, absl::ByAnyChar(" \n[]()"), absl::SkipEmpty());
  for (size_t i = 0; i < words.size(); ++i) {
    absl::string_view w = words[i];
    if (!absl::ConsumePrefix(&w, "--") || w.empty()) continue;
    while (!w.empty() && !absl::ascii_isalnum(w.back())) w.remove_suffix(1);  // "--stdin)."
    std::string name = absl::StrReplaceAll(w, {{"-", "_"}});
    std::string value = i + 1 < words.size() && !absl::StartsWith(words[i + 1], "-")
                            ? std::string(words[i + 1])
                            : "";
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

const char kHeader[] = R"(xctl: command-line client of xctld.

Usage: xctl [--server HOST:PORT] [--json] COMMAND ...

)";

const char kFooter[] = R"(Secrets never go on the command line (every user can read it in ps or /proc/PID/cmdline):
the token for servers with auth comes from $XCTL_TOKEN or --token-stdin, the signal secret from
$XCTL_SIGNAL_SECRET or --secret-stdin (the first line of standard input); --token and --secret
are refused.
Exit codes: 0 ok, 1 the server refused or failed, 2 bad command line (also a flag that belongs
to another command).
)";

std::string GlobalLine() {
  return absl::StrCat("Global flags (with every command): ", Join(GlobalFlags()),
                      ";\n--server defaults to $XCTL_SERVER, else 127.0.0.1:50051.");
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"prices", "[PAIR ...] [--watch [--updates N]]",
       "The latest price of each PAIR (of every configured pair without one); --watch streams "
       "the updates.", {}},
      {"positions", "[--strategy ID | --type TYPE] [--status open|closed|all] [--limit N]",
       "The positions of one strategy, of a strategy type or of all.", {}},
      {"orders",
       "[--strategy ID | --type TYPE] [--limit N]\n"
       "[--status all|open|partially_filled|filled|canceled|rejected]",
       "The orders of one strategy, of a strategy type or of all.", {}},
      {"kpis", "[--strategy ID | --type TYPE] [--watch [--updates N]]",
       "KPIs of the total, each strategy type and each strategy; --watch streams the updates.",
       {}},
      {"balance", "--strategy ID", "A strategy's account: balance, equity, margin.", {}},
      {"order place",
       "--strategy ID --symbol SYM --side buy|sell --quantity Q [--price P]\n"
       "[--order-type market|limit|post_only|ioc|fok] [--client-order-id C]\n"
       "[--reduce-only] [--take-profit T [--take-profit-price P]]\n"
       "[--stop-loss T [--stop-loss-price P]]\n"
       "(post_only: canceled if it would trade at once; ioc: what crosses fills,\n"
       "the rest is canceled; fok: all at once or nothing. Take-profit / stop-loss:\n"
       "when the last price reaches T the position is closed, at P or at market)",
       "Places an order for a strategy (a limit order with --price, else market).", {}},
      {"order cancel", "--strategy ID (--order-id N | --client-order-id C)",
       "Cancels a resting order.", {}},
      {"close", "--strategy ID --symbol SYM [--quantity Q] [--client-order-id C]",
       "Closes a strategy's position in SYM (all of it without --quantity).", {}},
      {"signal",
       "--strategy ID --action buy|sell|close --symbol SYM [--quantity Q] [--price P]\n"
       "[--client-order-id C] [--comment TEXT]\n"
       "(the signal secret: $XCTL_SIGNAL_SECRET or --secret-stdin)",
       "Submits a trading signal to a strategy, as a TradingView alert does.", {}},
      {"strategies list", "[--type TYPE]", "The strategies (of one type).", {}},
      {"strategies get", "ID", "One strategy.", {}},
      {"strategies start", "ID", "Starts a strategy.", {}},
      {"strategies stop", "ID", "Stops a strategy.", {}},
      {"strategies delete", "ID",
       "Deletes a stopped strategy without open positions or resting orders.", {}},
      {"strategies create",
       "--strategy ID --type TYPE --pairs A,B [--name NAME] [--params k=v,...]\n"
       "[--starting-balance N] [--leverage N] [--start]\n"
       "(a signal secret for it: $XCTL_SIGNAL_SECRET or --secret-stdin)",
       "Creates a strategy (paper trading until it is given credentials).", {}},
      {"strategies set-credentials", "ID   (reads XCTL_API_KEY, XCTL_API_SECRET, XCTL_PASSPHRASE)",
       "Gives a strategy BloFin API credentials: it trades live.", {}},
      {"strategies clear-credentials", "ID", "Takes them away: back to paper.", {}},
      {"completion", "bash|zsh",
       "Prints the shell completion script: source <(xctl completion bash).", {"bash", "zsh"}},
      {"help", "", "Prints this help.", {}},
  };
  return kCommands;
}

const std::vector<std::string>& GlobalFlags() {
  static const std::vector<std::string> kGlobal = {"server", "json", "timeout", "ca",
                                                   "token_stdin"};
  return kGlobal;
}

std::vector<std::string> FlagsOf(const CommandSpec& command) {
  std::vector<std::string> out;
  for (auto& [name, value] : FlagWords(command.synopsis)) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return out;
}

std::vector<std::string> ValuesOf(const CommandSpec& command, absl::string_view flag) {
  for (auto& [name, value] : FlagWords(command.synopsis)) {
    if (name != flag || !absl::StrContains(value, '|') || absl::StrContains(value, "...")) continue;
    return absl::StrSplit(value, '|', absl::SkipEmpty());
  }
  return {};
}

const CommandSpec* FindCommand(const std::vector<std::string>& words) {
  const CommandSpec* best = nullptr;
  size_t best_words = 0;
  for (const CommandSpec& c : Commands()) {
    std::vector<absl::string_view> name = absl::StrSplit(c.name, ' ');
    if (name.size() > words.size() || name.size() <= best_words) continue;
    if (std::equal(name.begin(), name.end(), words.begin())) {
      best = &c;
      best_words = name.size();
    }
  }
  return best;
}

std::vector<std::string> NextWords(absl::string_view group) {
  std::vector<std::string> out;
  for (const CommandSpec& c : Commands()) {
    absl::string_view rest = c.name;
    if (!group.empty() && !(absl::ConsumePrefix(&rest, group) && absl::ConsumePrefix(&rest, " "))) {
      continue;
    }
    std::string next(rest.substr(0, rest.find(' ')));
    if (std::find(out.begin(), out.end(), next) == out.end()) out.push_back(std::move(next));
  }
  return out;
}

std::string UsageText() {
  std::string out = kHeader;
  for (const CommandSpec& c : Commands()) absl::StrAppend(&out, Block(c));
  absl::StrAppend(&out, "\n", GlobalLine(), "\n", kFooter);
  return out;
}

std::string CommandHelpText(const std::vector<std::string>& words, const FlagFileFilter& own) {
  std::vector<const CommandSpec*> chosen;
  if (const CommandSpec* c = FindCommand(words)) {
    chosen.push_back(c);
  } else {
    const std::string group = absl::StrJoin(words, " ") + " ";
    for (const CommandSpec& c : Commands()) {
      if (absl::StartsWith(c.name, group)) chosen.push_back(&c);
    }
  }
  if (chosen.empty()) return "";
  const std::string title =
      chosen.size() == 1 ? std::string(chosen[0]->name) : absl::StrJoin(words, " ");
  std::string out = absl::StrCat("Usage: xctl ", title, " ...\n\n");
  std::vector<std::string> flags;
  for (const CommandSpec* c : chosen) {
    absl::StrAppend(&out, Block(*c), "      ", c->summary, "\n");
    for (std::string& f : FlagsOf(*c)) {
      if (std::find(flags.begin(), flags.end(), f) == flags.end()) flags.push_back(std::move(f));
    }
  }
  if (!flags.empty()) absl::StrAppend(&out, "\nFlags:\n", FlagTable(flags, own));
  absl::StrAppend(&out, "\n", GlobalLine(), "\n");
  return out;
}

std::optional<std::string> CheckCommandFlags(const std::vector<std::string>& args,
                                             const std::vector<std::string>& words,
                                             const FlagFileFilter& own) {
  const CommandSpec* command = FindCommand(words);
  if (command == nullptr) return std::nullopt;
  const std::vector<std::string> flags = FlagsOf(*command);
  const std::vector<std::string>& global = GlobalFlags();
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view a = args[i];
    if (a == "--") break;
    if (!absl::ConsumePrefix(&a, "--") && !absl::ConsumePrefix(&a, "-")) continue;
    std::string name = absl::StrReplaceAll(a.substr(0, a.find('=')), {{"-", "_"}});
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no")) {  // --noNAME of a boolean
      flag = absl::FindCommandLineFlag(name.substr(2));
      if (flag != nullptr && flag->IsOfType<bool>()) name = name.substr(2);
      else flag = nullptr;
    }
    if (flag == nullptr || !own(flag->Filename())) continue;  // Abseil's own (--helpfull)
    // Abseil takes the next argument as the value of a non-boolean flag without '='.
    if (!flag->IsOfType<bool>() && !absl::StrContains(a, '=')) ++i;
    if (std::find(flags.begin(), flags.end(), name) != flags.end() ||
        std::find(global.begin(), global.end(), name) != global.end()) {
      continue;
    }
    std::string message = absl::StrCat("xctl ", command->name, ": flag --", Dashed(name),
                                       " does not belong to this command; ");
    const std::string nearest = NearestName(name, flags);
    if (!nearest.empty()) {
      absl::StrAppend(&message, "did you mean --", Dashed(nearest), "?");
    } else if (!flags.empty()) {
      absl::StrAppend(&message, "its flags are ", Join(flags));
    } else {
      absl::StrAppend(&message, "it takes only the global flags (", Join(global), ")");
    }
    return absl::StrCat(message, " (xctl ", command->name, " --help lists its flags)");
  }
  return std::nullopt;
}

}  // namespace xctl::cli
