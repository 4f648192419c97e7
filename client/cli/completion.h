// Shell completion for xctl (`xctl completion bash|zsh`, docs/cli.md),
// generated from the command table (command_table.h): the commands and
// subcommands, each command's own flags with the global ones, the values a
// synopsis names (--side buy|sell) and files for --ca.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace xctl::cli {

// The completion script for `shell` ("bash" or "zsh"), to be sourced
// (`source <(xctl completion bash)`); nullopt for another shell. The bash
// script defines _xctl for `complete -F`, the zsh one for compdef (call
// compinit first).
std::optional<std::string> CompletionScript(absl::string_view shell);

}  // namespace xctl::cli
