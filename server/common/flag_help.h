// Command-line help and flag checks for xctl's programs (xctld, xctl), on
// Abseil flags, whose own --help lists only flags of a file named after the
// program, spells them with '_' and exits 1 on an unknown flag:
//
//   - `-h` / `--help` print the usage text and then the program's flags, one
//     line each, with dashed names and defaults, and exit 0 (FlagHelp);
//   - an unknown flag is refused with the nearest valid name, and the caller
//     exits 2 (CheckFlags): "unknown flag --lisen (did you mean --listen?)";
//   - for a program with commands (xctl), the lines of chosen flags
//     (FlagTable) and the nearest of a set of names (NearestName).
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

// The help lines of the named flags (Abseil names, '_'), in the given order,
// as in FlagHelp; names that are not flags of files `own` accepts are left
// out. For a program whose commands take different flags (xctl's --help of
// one command).
std::string FlagTable(const std::vector<std::string>& names, const FlagFileFilter& own);

// The candidate nearest to `name` (at most 2 edits away, counting a swap of
// neighbours as one, or starting with a `name` of 3 or more characters), or
// "" when none is close.
std::string NearestName(absl::string_view name, const std::vector<std::string>& candidates);

// An error for the first flag Abseil does not know (naming the nearest of
// the program's own flags when one is close), or nullopt. Abseil's own flags
// (--helpfull, --version, --flagfile, ...) and `--noNAME` for a boolean flag
// are known.
std::optional<std::string> CheckFlags(const std::vector<std::string>& args,
                                      const FlagFileFilter& own);

}  // namespace xctl
