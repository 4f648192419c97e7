// Test support: scraping a running xctld's Prometheus endpoint
// (docs/operations.md, "Monitoring") and reading the page.
#pragma once

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/http_client.h"
#include "tests/server/running_xctld.h"
#include "tests/support/subprocess.h"

namespace xctl::testing {

// The port of "event=metrics_serving ... port=N" in xctld's log; 0 if it
// does not appear within 20 s.
inline int MetricsPort(RunningXctld& server) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  const std::regex port_re("event=metrics_serving [^\\n]* port=([0-9]+)");
  while (absl::Now() < deadline) {
    std::smatch m;
    const std::string log = server.process().Stdout();
    if (std::regex_search(log, m, port_re)) return std::stoi(m[1]);
    absl::SleepFor(absl::Milliseconds(50));
  }
  return 0;
}

// GET /metrics; "" when it fails.
inline std::string Scrape(int port) {
  HttpClient http({.timeout_ms = 5000});
  auto r = http.Send("GET", absl::StrCat("http://127.0.0.1:", port, "/metrics"), {}, "");
  if (!r.ok() || r->status != 200) return "";
  return r->body;
}

// The value of the sample `series` (name and labels exactly as printed) in
// `page`; -1 when it is absent.
inline double Value(const std::string& page, const std::string& series) {
  const std::string line_start = series + " ";
  size_t at = 0;
  while ((at = page.find(line_start, at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') return std::stod(page.substr(at + line_start.size()));
    at += line_start.size();
  }
  return -1;
}

// The metric families the Grafana dashboard (docs/grafana/xctl.json) queries
// whose names start with `prefix` (histograms without _bucket/_count/_sum).
inline std::set<std::string> DashboardMetrics(absl::string_view prefix) {
  std::ifstream file(SourcePath("docs/grafana/xctl.json"));
  const std::string dashboard((std::istreambuf_iterator<char>(file)),
                              std::istreambuf_iterator<char>());
  std::set<std::string> used;
  const std::regex name_re("\\b(xctl_[a-z_]+)");
  for (auto it = std::sregex_iterator(dashboard.begin(), dashboard.end(), name_re);
       it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1];
    for (const char* suffix : {"_bucket", "_count", "_sum"}) {
      if (absl::EndsWith(name, suffix)) name.resize(name.size() - std::strlen(suffix));
    }
    if (absl::StartsWith(name, prefix)) used.insert(name);
  }
  return used;
}

}  // namespace xctl::testing
