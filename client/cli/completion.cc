#include "client/cli/completion.h"

#include <algorithm>
#include <set>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/cli/command_table.h"

namespace xctl::cli {
namespace {

std::string Dashed(absl::string_view name) {
  return absl::StrCat("--", absl::StrReplaceAll(name, {{"_", "-"}}));
}

std::string DashedAll(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) out.push_back(Dashed(n));
  return absl::StrJoin(out, " ");
}

// One `'key') echo 'words' ;;` line of a case statement.
std::string Case(absl::string_view key, absl::string_view words) {
  return absl::StrCat("    '", key, "') echo '", words, "' ;;\n");
}

// The command groups: every proper prefix of a command name ("order", ...).
std::vector<std::string> Groups() {
  std::vector<std::string> out;
  for (const CommandSpec& c : Commands()) {
    std::vector<absl::string_view> parts = absl::StrSplit(c.name, ' ');
    for (size_t n = 1; n < parts.size(); ++n) {
      std::string g = absl::StrJoin(parts.begin(), parts.begin() + n, " ");
      if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(std::move(g));
    }
  }
  return out;
}

// The functions both shells share: plain sh (case, echo, local), the same in
// bash and zsh. They print candidates separated by blanks.
std::string Helpers() {
  std::string kind, next = Case("", absl::StrJoin(NextWords(""), " ")), flags, values, operands;
  std::set<std::string> valued;
  auto note_valued = [&valued](const std::string& name) {
    const absl::CommandLineFlag* f = absl::FindCommandLineFlag(name);
    if (f != nullptr && !f->IsOfType<bool>()) valued.insert(Dashed(name));
  };
  for (const std::string& g : Groups()) {
    absl::StrAppend(&kind, Case(g, "group"));
    absl::StrAppend(&next, Case(g, absl::StrJoin(NextWords(g), " ")));
  }
  for (const CommandSpec& c : Commands()) {
    absl::StrAppend(&kind, Case(c.name, "command"));
    const std::vector<std::string> own = FlagsOf(c);
    if (!own.empty()) absl::StrAppend(&flags, Case(c.name, DashedAll(own)));
    for (const std::string& f : own) {
      note_valued(f);
      std::vector<std::string> v = ValuesOf(c, f);
      if (!v.empty()) {
        absl::StrAppend(&values, Case(absl::StrCat(c.name, " ", Dashed(f)), absl::StrJoin(v, " ")));
      }
    }
    if (!c.operands.empty()) absl::StrAppend(&operands, Case(c.name, absl::StrJoin(c.operands, " ")));
  }
  for (const std::string& f : GlobalFlags()) note_valued(f);
  return absl::StrCat(R"sh(# "group" or "command" for the name of one, else nothing.
_xctl_kind() {
  case "$1" in
)sh", kind, R"sh(  esac
}

# The words that follow a group ("" for the first word).
_xctl_next() {
  case "$1" in
)sh", next, R"sh(  esac
}

# A command's own flags, then the global flags.
_xctl_flags() {
  case "$1" in
)sh", flags, "  esac\n  echo '", DashedAll(GlobalFlags()), R"sh( --help'
}

# The values of a command's flag ("COMMAND --FLAG"), when the synopsis names them.
_xctl_values() {
  case "$1 $2" in
)sh", values, R"sh(  esac
}

# The values of a command's first operand.
_xctl_operands() {
  case "$1" in
)sh", operands, R"sh(  esac
}

# True for a flag that takes a value (--strategy ID), false for a switch (--json).
_xctl_valued() {
  case "$1" in
    )sh", absl::StrJoin(valued, "|"), R"sh() return 0 ;;
  esac
  return 1
}

# The candidates for the word $1 after the words $2... (the arguments before it).
_xctl_candidates() {
  local cur="$1" prev="" cmd="" w skip=0 operands=0 kind
  shift
  for w in "$@"; do
    prev="$w"
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$w" in
      --) return 0 ;;
      -*=*) ;;
      -*) _xctl_valued "$w" && skip=1 ;;
      *)
        if [ "$operands" = 0 ] && [ -n "$(_xctl_kind "${cmd:+$cmd }$w")" ]; then
          cmd="${cmd:+$cmd }$w"
        else
          operands=$((operands + 1))
        fi ;;
    esac
  done
  kind="$(_xctl_kind "$cmd")"
  case "$cur" in
    --*=*) _xctl_values "$cmd" "${cur%%=*}" ;;
    -*) if [ "$kind" = command ]; then _xctl_flags "$cmd"; else _xctl_flags ""; fi ;;
    *)
      if [ "$skip" = 1 ]; then
        _xctl_values "$cmd" "$prev"
      elif [ "$kind" = command ]; then
        [ "$operands" = 0 ] && _xctl_operands "$cmd"
      else
        _xctl_next "$cmd"
      fi ;;
  esac
  return 0
}
)sh");
}

constexpr char kBash[] = R"sh(
# The files for --ca, else the candidates of the table; bash's own word (after '=' when
# COMP_WORDBREAKS splits there) is what the reply replaces.
_xctl() {
  local line cur="" value_prefix="" w
  local -a words
  if [ -n "${COMP_LINE-}" ]; then
    line="${COMP_LINE:0:COMP_POINT}"
  else
    line="${COMP_WORDS[*]:0:COMP_CWORD+1}"
  fi
  read -ra words <<< "$line"
  if [ "${line%[[:space:]]}" = "$line" ] && [ "${#words[@]}" -gt 1 ]; then
    cur="${words[${#words[@]}-1]}"
    unset 'words[${#words[@]}-1]'
  fi
  local prev="${words[${#words[@]}-1]}"
  if [[ "$cur" == --*=* ]]; then
    value_prefix="${cur%%=*}="
    [[ "$COMP_WORDBREAKS" == *=* ]] && value_prefix=""
  fi
  if [[ "$cur" == --ca=* || ( "$prev" == --ca && "$cur" != -* ) ]]; then
    COMPREPLY=($(compgen -f -- "${cur#--ca=}"))
  else
    COMPREPLY=($(compgen -W "$(_xctl_candidates "$cur" "${words[@]:1}")" -- "${cur#--*=}"))
  fi
  if [ -n "$value_prefix" ]; then
    COMPREPLY=("${COMPREPLY[@]/#/$value_prefix}")
  fi
  return 0
}
complete -F _xctl xctl
)sh";

constexpr char kZsh[] = R"sh(
# The files for --ca, else the candidates of the table (compsys matches them against the word).
_xctl() {
  local cur="${words[CURRENT]}" prev="${words[CURRENT-1]}"
  local -a candidates
  if [[ "$cur" == --ca=* || ( "$prev" == --ca && "$cur" != -* ) ]]; then
    compset -P '*='
    _files
    return
  fi
  candidates=($(_xctl_candidates "$cur" "${(@)words[2,CURRENT-1]}"))
  [[ "$cur" == --*=* ]] && compset -P '*='
  compadd -- "${candidates[@]}"
}
if [ "${funcstack[1]-}" = _xctl ]; then
  _xctl "$@"  # autoloaded from a file _xctl in $fpath
elif (( $+functions[compdef] )); then
  compdef _xctl xctl
fi
)sh";

}  // namespace

std::optional<std::string> CompletionScript(absl::string_view shell) {
  if (shell != "bash" && shell != "zsh") return std::nullopt;
  std::string out = absl::StrCat(shell == "zsh" ? "#compdef xctl\n" : "",
                                 "# xctl completion for ", shell,
                                 ", generated by `xctl completion ", shell,
                                 "` from xctl's command table.\n# Load it with: source <(xctl "
                                 "completion ",
                                 shell, ")", shell == "zsh" ? " (after compinit)" : "", "\n\n",
                                 Helpers());
  absl::StrAppend(&out, shell == "bash" ? kBash : kZsh);
  return out;
}

}  // namespace xctl::cli
