#include "server/config/connections_keys.h"

namespace xctl::config_internal {

std::vector<std::pair<const char*, int ConnectionsConfig::*>> ConnectionsKeys() {
  return {{"max_streams_per_connection", &ConnectionsConfig::max_streams_per_connection},
          {"handshake_timeout_ms", &ConnectionsConfig::handshake_timeout_ms},
          {"keepalive_time_ms", &ConnectionsConfig::keepalive_time_ms},
          {"keepalive_timeout_ms", &ConnectionsConfig::keepalive_timeout_ms},
          {"max_idle_ms", &ConnectionsConfig::max_idle_ms},
          {"max_age_ms", &ConnectionsConfig::max_age_ms},
          {"max_age_grace_ms", &ConnectionsConfig::max_age_grace_ms},
          {"fd_reserve", &ConnectionsConfig::fd_reserve},
          {"watchdog_interval_ms", &ConnectionsConfig::watchdog_interval_ms},
          {"watchdog_timeout_ms", &ConnectionsConfig::watchdog_timeout_ms},
          {"watchdog_failures", &ConnectionsConfig::watchdog_failures}};
}

}  // namespace xctl::config_internal
