#include "server/common/log.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace xctl {

bool InitLogging(absl::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  spdlog::set_level(parsed);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::flush_on(spdlog::level::info);
  return true;
}

std::string LogQuote(absl::string_view value) {
  std::string out = "\"";
  size_t n = 0;
  for (unsigned char c : value) {
    if (++n > 200) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\x%02x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string RedactUrl(absl::string_view url) {
  // scheme://user:password@host -> scheme://user:***@host, and any
  // "password=..." query parameter -> "password=***".
  std::string out(url);
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t at = out.find('@', scheme + 3);
    size_t colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out = absl::StrCat(out.substr(0, colon + 1), "***", out.substr(at));
    }
  }
  for (size_t p = out.find("password="); p != std::string::npos;
       p = out.find("password=", p + 1)) {
    size_t start = p + 9;
    size_t end = out.find('&', start);
    if (end == std::string::npos) end = out.size();
    out.replace(start, end - start, "***");
  }
  return out;
}

}  // namespace xctl
