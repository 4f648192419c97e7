// Command-line help and flag checks for xctl's programs (xctld, xctl), on
// Abseil flags, whose own --help lists only flags of a file named after the
// program, spells them with '_' and exits 1 on an unknown flag:
//
//   - `-h` / `--help` print the usage text and then the program's flags, one
//     line each, with dashed names and defaults, and exit 0 (FlagHelp);
//   - an unknown flag is refused with the nearest valid name, and the caller
//     exits 2 (CheckFlags): "unknown flag --lisen (did you mean --listen?)".
//
// Arguments are those after NormalizeFlagNames (flag_names.h): `--a_b[=v]`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace xctl {

// True for the source files whose flags are this program's own.
using FlagFileFilter = std::function<bool(absl::string_view file)>;

// True when the arguments ask for help (`-h`, `--help`; before any `--`).
bool WantsHelp(const std::vector<std::string>& args);

// "<usage>\n\nFlags:\n  --price-interval-ms=N  ... (default 1000)\n ..." for the
// flags defined in files `own` accepts, sorted by name; each line is
// `--name=<type>`, the help text and the default when there is one.
std::string FlagHelp(absl::string_view usage, const FlagFileFilter& own);

// The help of one command: the lines of `usage` that describe the command
// `words` name ("positions", "order place", or "order" for all of its
// forms; a block is a line indented by two spaces and the lines indented
// deeper under it), then the flags those lines mention, as in FlagHelp, and
// `usage`'s "Global flags" line. Empty when no line describes `words`.
std::string CommandHelp(absl::string_view usage, const std::vector<std::string>& words,
                        const FlagFileFilter& own);

// An error for the first flag Abseil does not know (naming the nearest of
// the program's own flags when one is close), or nullopt. Abseil's own flags
// (--helpfull, --version, --flagfile, ...) and `--noNAME` for a boolean flag
// are known.
std::optional<std::string> CheckFlags(const std::vector<std::string>& args,
                                      const FlagFileFilter& own);

}  // namespace xctl
