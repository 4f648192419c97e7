// Logging conventions: spdlog, one line per event, "event=<name> key=value...",
// secrets wrapped in Secret so they can only ever print as "***".
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "spdlog/fmt/fmt.h"
#include "spdlog/spdlog.h"

namespace xctl {

// Sets up the process logger: level ("trace".."critical"), and a pattern of
// "<UTC time> <level> <message>". Returns false for an unknown level name.
bool InitLogging(absl::string_view level);

// Holds a secret (API key, secret, passphrase, token). Formatting it with fmt
// or spdlog prints "***"; only value() exposes it, for the code that signs or
// encrypts with it.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

// A URL with any password replaced by "***" (user:password@ and
// password=... query parameters), for logs and error messages.
std::string RedactUrl(absl::string_view url);

// Quotes a value for a log line: wraps it in double quotes, escapes quotes,
// backslashes and control characters, and cuts it at 200 bytes.
std::string LogQuote(absl::string_view value);

}  // namespace xctl

template <>
struct fmt::formatter<xctl::Secret> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const xctl::Secret&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format("***", ctx);
  }
};

// Debian's Abseil keeps its own absl::string_view (not std::string_view), so
// teach fmt to print it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(absl::string_view s, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(
        std::string_view(s.data(), s.size()), ctx);
  }
};
