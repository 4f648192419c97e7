#include "server/common/flag_help.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace xctl {
namespace {

// Abseil's built-in flags (absl/flags/internal/usage.cc, parse.cc).
constexpr absl::string_view kBuiltins[] = {
    "help", "helpfull", "helpshort", "helppackage", "helpon", "helpmatch", "version",
    "only_check_args", "flagfile", "fromenv", "tryfromenv", "undefok"};

std::string Dashed(absl::string_view name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

// The flags of the program's own files, by name.
std::map<std::string, absl::CommandLineFlag*> OwnFlags(const FlagFileFilter& own) {
  std::map<std::string, absl::CommandLineFlag*> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (own(flag->Filename())) out.emplace(std::string(name), flag);
  }
  return out;
}

// Edit distance counting insertions, deletions, substitutions and swaps of
// neighbours ("stauts" is one edit from "status").
size_t Distance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

bool Known(absl::string_view name) {
  if (std::find(std::begin(kBuiltins), std::end(kBuiltins), name) != std::end(kBuiltins)) {
    return true;
  }
  if (absl::FindCommandLineFlag(name) != nullptr) return true;
  if (absl::StartsWith(name, "no")) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name.substr(2));
    return flag != nullptr && flag->IsOfType<bool>();
  }
  return false;
}

}  // namespace

bool WantsHelp(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") return false;
    if (args[i] == "-h" || args[i] == "--help" || args[i] == "-help") return true;
  }
  return false;
}

namespace {

// "--name=VALUE" (not for booleans) and "help (default D)", for the table.
std::pair<std::string, std::string> FlagLine(absl::string_view name,
                                             const absl::CommandLineFlag& flag) {
  std::string left = absl::StrCat("--", Dashed(name));
  if (!flag.IsOfType<bool>()) absl::StrAppend(&left, "=VALUE");
  std::string right = flag.Help();
  const std::string def = flag.DefaultValue();
  if (!def.empty() && !flag.IsOfType<bool>()) absl::StrAppend(&right, " (default ", def, ")");
  return {std::move(left), std::move(right)};
}

// The lines as an aligned two-column table.
std::string Table(const std::vector<std::pair<std::string, std::string>>& lines) {
  size_t width = 0;
  for (const auto& [left, right] : lines) width = std::max(width, left.size());
  std::string out;
  for (const auto& [left, right] : lines) {
    absl::StrAppend(&out, "  ", left, std::string(width - left.size() + 2, ' '), right, "\n");
  }
  return out;
}

}  // namespace

std::string FlagHelp(absl::string_view usage, const FlagFileFilter& own) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const auto& [name, flag] : OwnFlags(own)) lines.push_back(FlagLine(name, *flag));
  lines.emplace_back("--version", "print the version and exit");
  return absl::StrCat(usage, "\n\nFlags:\n", Table(lines));
}

std::string FlagTable(const std::vector<std::string>& names, const FlagFileFilter& own) {
  const std::map<std::string, absl::CommandLineFlag*> flags = OwnFlags(own);
  std::vector<std::pair<std::string, std::string>> lines;
  for (const std::string& name : names) {
    auto it = flags.find(name);
    if (it != flags.end()) lines.push_back(FlagLine(name, *it->second));
  }
  return Table(lines);
}

std::string NearestName(absl::string_view name, const std::vector<std::string>& candidates) {
  std::string nearest;
  size_t best = 3;  // only names at most 2 edits away, or sharing a prefix
  for (const std::string& candidate : candidates) {
    size_t d = Distance(name, candidate);
    if (absl::StartsWith(candidate, name) && name.size() >= 3) d = std::min<size_t>(d, 1);
    if (d < best) {
      best = d;
      nearest = candidate;
    }
  }
  return nearest;
}

std::optional<std::string> CheckFlags(const std::vector<std::string>& args,
                                      const FlagFileFilter& own) {
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view a = args[i];
    if (a == "--") break;
    if (!absl::ConsumePrefix(&a, "--") && !absl::ConsumePrefix(&a, "-")) continue;
    if (a.empty()) continue;
    absl::string_view name = a.substr(0, a.find('='));
    if (Known(name)) continue;
    std::vector<std::string> names;
    for (const auto& [candidate, flag] : OwnFlags(own)) names.push_back(candidate);
    const std::string nearest = NearestName(name, names);
    std::string message = absl::StrCat("unknown flag --", Dashed(name));
    if (!nearest.empty()) absl::StrAppend(&message, " (did you mean --", Dashed(nearest), "?)");
    return absl::StrCat(message, "; --help lists the flags");
  }
  return std::nullopt;
}

}  // namespace xctl
