// libnats' errors as absl::Status and NATS URLs with their credentials hidden
// (RedactNatsUrl of nats_bus.h; UrlSecrets and StatusFor of nats_internal.h).
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/cluster/nats_bus.h"
#include "server/cluster/nats_internal.h"

namespace xctl::cluster {
namespace {

// libnats' text for `s`, plus the thread's last error detail when it adds
// something, with `secret` parts of the URL removed.
std::string NatsError(natsStatus s, const std::vector<std::string>& secrets) {
  std::string text = natsStatus_GetText(s);
  natsStatus last_status = NATS_OK;
  const char* last = nats_GetLastError(&last_status);
  if (last && *last && text.find(last) == std::string::npos && std::string(last) != text) {
    absl::StrAppend(&text, " (", last, ")");
  }
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p + 3)) {
      text.replace(p, secret.size(), "***");
    }
  }
  return text;
}

}  // namespace

namespace nats_internal {

std::vector<std::string> UrlSecrets(absl::string_view urls) {
  std::vector<std::string> out;
  for (absl::string_view url : absl::StrSplit(urls, ',')) {
    size_t scheme = url.find("://");
    size_t start = scheme == absl::string_view::npos ? 0 : scheme + 3;
    size_t at = url.find('@', start);
    if (at == absl::string_view::npos) continue;
    absl::string_view userinfo = url.substr(start, at - start);
    size_t colon = userinfo.find(':');
    out.emplace_back(colon == absl::string_view::npos ? userinfo : userinfo.substr(colon + 1));
  }
  return out;
}

absl::Status StatusFor(natsStatus s, absl::string_view what, const std::string& redacted_url,
                       const std::vector<std::string>& secrets) {
  std::string msg = absl::StrCat(what, " (NATS ", redacted_url, "): ", NatsError(s, secrets));
  switch (s) {
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_ARG:
    case NATS_ADDRESS_MISSING:
      return absl::InvalidArgumentError(msg);
    case NATS_MAX_PAYLOAD:
      return absl::ResourceExhaustedError(msg);
    case NATS_TIMEOUT:
      return absl::DeadlineExceededError(msg);
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

}  // namespace nats_internal

std::string RedactNatsUrl(absl::string_view urls) {
  std::vector<std::string> out;
  for (absl::string_view url : absl::StrSplit(urls, ',')) {
    std::string u(url);
    size_t scheme = u.find("://");
    size_t start = scheme == std::string::npos ? 0 : scheme + 3;
    size_t at = u.find('@', start);
    if (at != std::string::npos) {
      size_t colon = u.find(':', start);
      if (colon != std::string::npos && colon < at) {
        u = absl::StrCat(u.substr(0, colon + 1), "***", u.substr(at));  // user:***@
      } else {
        u = absl::StrCat(u.substr(0, start), "***", u.substr(at));  // token: ***@
      }
    }
    out.push_back(std::move(u));
  }
  return absl::StrJoin(out, ",");
}

}  // namespace xctl::cluster
