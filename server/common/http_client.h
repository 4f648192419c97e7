// HttpClient: a small blocking HTTP/1.1 client on libcurl for xctl's REST
// calls (BloFin prices and trading). One client keeps one connection alive
// between requests (connection reuse), so a poller pays the TCP/TLS set-up
// once. Calls on one client are serialized; use one client per caller thread
// for parallelism. Transport failures are absl::Status (UNAVAILABLE, or
// DEADLINE_EXCEEDED on timeout); any HTTP status is a successful response.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace xctl {

struct HttpResponse {
  long status = 0;
  std::string body;
  // Value of the Retry-After header in seconds, -1 when absent.
  int retry_after_seconds = -1;
};

class HttpClient {
 public:
  struct Options {
    int connect_timeout_ms = 3000;
    int timeout_ms = 5000;
  };
  explicit HttpClient(Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method` ("GET", "POST") to `url` with `headers` ("Name: value")
  // and `body` (sent byte for byte; empty for GET).
  [[nodiscard]] absl::StatusOr<HttpResponse> Send(
      absl::string_view method, const std::string& url,
      const std::vector<std::string>& headers, const std::string& body = "");

 private:
  Options options_;
  absl::Mutex mu_;
  void* curl_ ABSL_GUARDED_BY(mu_);  // CURL*
};

}  // namespace xctl
