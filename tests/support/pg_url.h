// Test support: the same PostgreSQL URL through another local port (a
// TcpProxy in front of the server), and the port a URL names.
#pragma once

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace xctl::testing {

// The port after "@host:" in postgresql://user:pass@host:port/db (5432 when
// absent).
inline int PgPort(const std::string& url) {
  size_t at = url.rfind('@');
  size_t colon = url.find(':', at == std::string::npos ? 0 : at);
  size_t slash = url.find('/', colon == std::string::npos ? 0 : colon);
  int port = 5432;
  if (colon != std::string::npos && slash != std::string::npos) {
    (void)absl::SimpleAtoi(url.substr(colon + 1, slash - colon - 1), &port);
  }
  return port;
}

// `url` with its port replaced by `port` (host 127.0.0.1).
inline std::string WithPgPort(const std::string& url, int port) {
  size_t at = url.rfind('@');
  size_t slash = url.find('/', at);
  return absl::StrCat(url.substr(0, at + 1), "127.0.0.1:", port, url.substr(slash));
}

}  // namespace xctl::testing
