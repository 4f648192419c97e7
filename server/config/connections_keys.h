// The keys of the config's `connections:` section, shared by its parser
// (parse_config.cc) and its validation (validate_config.cc). Internal to
// server/config/.
#pragma once

#include <utility>
#include <vector>

#include "server/config/config.h"

namespace xctl::config_internal {

// The keys of `connections:` and where each goes.
std::vector<std::pair<const char*, int ConnectionsConfig::*>> ConnectionsKeys();

}  // namespace xctl::config_internal
