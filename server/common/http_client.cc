#include "server/common/http_client.h"

#include <curl/curl.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace xctl {
namespace {

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

size_t WriteBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t ReadHeader(char* data, size_t size, size_t n, void* out) {
  absl::string_view line(data, size * n);
  constexpr absl::string_view kRetry = "retry-after:";
  if (line.size() > kRetry.size() &&
      absl::EqualsIgnoreCase(line.substr(0, kRetry.size()), kRetry)) {
    int seconds = -1;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(kRetry.size())), &seconds)) {
      static_cast<HttpResponse*>(out)->retry_after_seconds = seconds;
    }
  }
  return size * n;
}

}  // namespace

HttpClient::HttpClient(Options options) : options_(options) {
  static GlobalInit init;
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::StatusOr<HttpResponse> HttpClient::Send(absl::string_view method,
                                              const std::string& url,
                                              const std::vector<std::string>& headers,
                                              const std::string& body) {
  absl::MutexLock lock(&mu_);
  CURL* curl = static_cast<CURL*>(curl_);
  if (!curl) return absl::InternalError("libcurl could not be initialised");
  curl_easy_reset(curl);  // keeps the connection cache, resets options
  HttpResponse response;
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  std::string method_s(method);
  if (method_s == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else if (method_s != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_s.c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(
        absl::StrCat(method, " ", url, ": no answer within ", options_.timeout_ms, " ms"));
  }
  if (rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", url, ": ", curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace xctl
