#include "tests/support/fake_blofin.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"

namespace xctl::testing {

FakeBlofin::FakeBlofin(bool websocket) : websocket_(websocket) {
  std::string dir = MakeTempDir("fake-blofin");
  std::vector<std::string> argv = {websocket ? SourcePath(".venv/bin/python") : "python3",
                                   SourcePath("tests/fake_blofin/fake_blofin.py"), "--port", "0",
                                   "--port-file", dir + "/port"};
  if (websocket) {
    argv.push_back("--ws-port-file");
    argv.push_back(dir + "/ws-port");
  }
  process_ = std::make_unique<Subprocess>(argv, dir + "/server");
  if (websocket) {
    if (auto port = WaitForFileLine(dir + "/ws-port", absl::Seconds(20))) {
      ws_url_ = "ws://127.0.0.1:" + *port + "/ws/public";
    }
  }
  if (auto port = WaitForFileLine(dir + "/port", absl::Seconds(20))) {
    base_url_ = "http://127.0.0.1:" + *port;
    if (!LiftIpLimit()) base_url_.clear();
  }
}

bool WaitFor(const std::function<bool()>& done, absl::Duration limit) {
  for (const absl::Time end = absl::Now() + limit; !done();) {
    if (absl::Now() >= end) return done();
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

std::string FakeBlofin::ws_private_url() const {
  const size_t at = ws_url_.rfind("/ws/public");
  return at == std::string::npos ? "" : ws_url_.substr(0, at) + "/ws/private";
}

bool FakeBlofin::LiftIpLimit() {
  auto r = http_.Send("POST", base_url_ + "/_control/limits", {"Content-Type: application/json"},
                      R"({"ip": null, "ip_long": null})");
  return r.ok() && r->status == 200;
}

bool FakeBlofin::Control(const std::string& what, const std::string& json) {
  auto r = http_.Send("POST", base_url_ + "/_control/" + what,
                      {"Content-Type: application/json"}, json);
  if (!r.ok() || r->status != 200) return false;
  return what != "reset" || LiftIpLimit();
}

bool FakeBlofin::Fault(const std::string& path, const std::string& kind, int count,
                       const std::string& extra) {
  return Control("faults", absl::StrCat("{\"path\":\"", path, "\",\"kind\":\"", kind,
                                        "\",\"count\":", count, extra.empty() ? "" : ",",
                                        extra, "}"));
}

int FakeBlofin::WsStat(const std::string& member) {
  rapidjson::Document doc;
  doc.Parse(ControlGet("ws").c_str());
  if (doc.HasParseError() || !doc.IsObject()) return -1;
  auto it = doc.FindMember(member.c_str());
  return it != doc.MemberEnd() && it->value.IsInt() ? it->value.GetInt() : -1;
}

int FakeBlofin::Requests(const std::string& method_and_path) {
  auto r = http_.Send("GET", base_url_ + "/_control/stats", {});
  if (!r.ok() || r->status != 200) return -1;
  rapidjson::Document doc;
  doc.Parse(r->body.c_str());
  if (doc.HasParseError() || !doc.HasMember("requests")) return -1;
  const auto& req = doc["requests"];
  auto it = req.FindMember(method_and_path.c_str());
  return it == req.MemberEnd() ? 0 : it->value.GetInt();
}

std::string FakeBlofin::ControlGet(const std::string& path_and_query) {
  auto r = http_.Send("GET", base_url_ + "/_control/" + path_and_query, {});
  return r.ok() && r->status == 200 ? r->body : "";
}

bool FakeBlofin::AddAccount(const std::string& key, const std::string& secret,
                            const std::string& passphrase, const std::string& balance) {
  return Control("accounts", absl::StrCat("{\"apiKey\":\"", key, "\",\"secret\":\"", secret,
                                          "\",\"passphrase\":\"", passphrase,
                                          "\",\"balance\":\"", balance, "\"}"));
}

int FakeBlofin::OrderCount(const std::string& key) {
  rapidjson::Document doc;
  doc.Parse(ControlGet("accounts/state?apiKey=" + key).c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("orders")) return -1;
  return static_cast<int>(doc["orders"].Size());
}

int FakeBlofin::StatsNumber(const std::string& member) {
  rapidjson::Document doc;
  doc.Parse(ControlGet("stats").c_str());
  if (doc.HasParseError() || !doc.IsObject()) return -1;
  auto it = doc.FindMember(member.c_str());
  return it != doc.MemberEnd() && it->value.IsInt() ? it->value.GetInt() : 0;
}

int FakeBlofin::AuthFailures(const std::string& code) {
  rapidjson::Document doc;
  doc.Parse(ControlGet("stats").c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("auth_failures")) return -1;
  auto it = doc["auth_failures"].FindMember(code.c_str());
  return it == doc["auth_failures"].MemberEnd() ? 0 : it->value.GetInt();
}

}  // namespace xctl::testing
