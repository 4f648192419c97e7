// Test support: the local BloFin-compatible server (tests/fake_blofin/) run
// as a child process on a free loopback port, with its control API.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"

#include "server/common/http_client.h"
#include "tests/support/subprocess.h"

namespace xctl::testing {

// The per-IP limit (index.md "Rate Limits": 500 requests a minute, then a
// ban) is lifted at start and after every reset: test suites talk to the
// fake far faster than to BloFin. Tests of that limit set it again with
// Control("limits", ...).
// True once `done` (made true by another thread) holds; false after `limit`.
bool WaitFor(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(15));

class FakeBlofin {
 public:
  // `websocket`: also the public WebSocket (tests/fake_blofin/fake_ws.py),
  // which needs PyPI's websockets: the fake then runs on <repo>/.venv's
  // python (scripts/setup makes it).
  explicit FakeBlofin(bool websocket = false);
  bool ok() const { return !base_url_.empty() && (!websocket_ || !ws_url_.empty()); }
  // http://127.0.0.1:PORT
  const std::string& base_url() const { return base_url_; }
  // ws://127.0.0.1:PORT/ws/public (with `websocket`).
  const std::string& ws_url() const { return ws_url_; }
  // ws://127.0.0.1:PORT/ws/private (with `websocket`; fake_ws_private.py).
  std::string ws_private_url() const;
  // POST /_control/ws: faults ({"drop":true}, {"stall":true},
  // {"malformed":"text"}) and settings ({"push_interval_ms":0}).
  bool WsControl(const std::string& json) { return Control("ws", json); }
  // GET /_control/ws, member `member` as an integer ("connects", "pings");
  // -1 on failure.
  int WsStat(const std::string& member);

  // POST /_control/<what> with a JSON body; true on HTTP 200.
  bool Control(const std::string& what, const std::string& json);
  // Sets the listed tickers ({"BTC-USDT":{"bid":..,"ask":..,"last":..}}).
  bool SetTickers(const std::string& json) { return Control("tickers", json); }
  // Queues `count` faults of `kind` for `path` (extra JSON members optional).
  bool Fault(const std::string& path, const std::string& kind, int count = 1,
             const std::string& extra = "");
  // How many requests "METHOD /path" the server has seen.
  int Requests(const std::string& method_and_path);
  // GET /_control/<path_and_query>: the body, "" on failure.
  std::string ControlGet(const std::string& path_and_query);
  // A trading account (POST /_control/accounts).
  bool AddAccount(const std::string& key, const std::string& secret,
                  const std::string& passphrase, const std::string& balance = "10000");
  // Number of orders (any state) of the account with `key`; -1 on failure.
  int OrderCount(const std::string& key);
  // stats.<member> as an integer (e.g. "rate_limited"); auth failures of a
  // code with AuthFailures("152409").
  int StatsNumber(const std::string& member);
  int AuthFailures(const std::string& code);

 private:
  bool LiftIpLimit();

  bool websocket_ = false;
  std::unique_ptr<Subprocess> process_;
  std::string base_url_;
  std::string ws_url_;
  HttpClient http_{HttpClient::Options{.connect_timeout_ms = 2000, .timeout_ms = 10000}};
};

}  // namespace xctl::testing
