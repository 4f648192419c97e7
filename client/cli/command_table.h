// The xctl CLI's commands in one table (docs/cli.md). Everything that depends
// on which command takes which flag reads it: the usage text and a command's
// --help, the check that refuses a flag of another command, and the shell
// completion scripts (completion.h).
//
// A command's flags are the `--name` words of its synopsis: the synopsis
// `--strategy ID --side buy|sell [--price P]` takes --strategy, --side and
// --price, and --side's values are buy and sell. The global flags go with
// every command.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/common/flag_help.h"

namespace xctl::cli {

struct CommandSpec {
  absl::string_view name;      // "prices", "order place"
  absl::string_view synopsis;  // operands and flags; '\n' starts a continuation line
  absl::string_view summary;   // one sentence: what it does
  std::vector<absl::string_view> operands;  // the values of its first operand, when a fixed set
};

// Every command, in the order the usage text lists them.
const std::vector<CommandSpec>& Commands();

// The flags every command takes (Abseil names: "server", "token_stdin").
const std::vector<std::string>& GlobalFlags();

// A command's own flags (Abseil names), in synopsis order, without repeats.
std::vector<std::string> FlagsOf(const CommandSpec& command);

// The values the synopsis names for a flag of the command ("buy", "sell" for
// --side buy|sell); empty when it names none.
std::vector<std::string> ValuesOf(const CommandSpec& command, absl::string_view flag);

// The command that the leading `words` name ("order place BTC" names "order
// place"): the longest name that is a prefix of the words; nullptr when none.
const CommandSpec* FindCommand(const std::vector<std::string>& words);

// The words that follow `group` in command names: "place", "cancel" for
// "order"; the first words ("prices", ..., "order", ...) for "".
std::vector<std::string> NextWords(absl::string_view group);

// The usage text: the commands with their synopses, the global flags, secrets
// and exit codes.
std::string UsageText();

// The --help of the command or group (`order` for all of its forms) the
// words name: its synopsis lines, its flags as FlagTable prints them, then the
// global flags. Empty when the words name none.
std::string CommandHelpText(const std::vector<std::string>& words, const FlagFileFilter& own);

// A refusal naming the command and the first flag of `args` (after
// NormalizeFlagNames) that is neither global nor one of the command's own,
// with the nearest of its own or the list of them; nullopt when every flag
// belongs, or when `words` (the positional words) name no command. Flags that
// are not the program's (`own`), such as Abseil's --helpfull, go with every
// command.
std::optional<std::string> CheckCommandFlags(const std::vector<std::string>& args,
                                             const std::vector<std::string>& words,
                                             const FlagFileFilter& own);

}  // namespace xctl::cli
