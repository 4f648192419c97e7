#include "tests/support/fake_blofin.h"

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"

namespace xctl::testing {

FakeBlofin::FakeBlofin() {
  std::string dir = MakeTempDir("fake-blofin");
  process_ = std::make_unique<Subprocess>(
      std::vector<std::string>{"python3", SourcePath("tests/fake_blofin/fake_blofin.py"),
                               "--port", "0", "--port-file", dir + "/port"},
      dir + "/server");
  if (auto port = WaitForFileLine(dir + "/port", absl::Seconds(20))) {
    base_url_ = "http://127.0.0.1:" + *port;
  }
}

bool FakeBlofin::Control(const std::string& what, const std::string& json) {
  auto r = http_.Send("POST", base_url_ + "/_control/" + what,
                      {"Content-Type: application/json"}, json);
  return r.ok() && r->status == 200;
}

bool FakeBlofin::Fault(const std::string& path, const std::string& kind, int count,
                       const std::string& extra) {
  return Control("faults", absl::StrCat("{\"path\":\"", path, "\",\"kind\":\"", kind,
                                        "\",\"count\":", count, extra.empty() ? "" : ",",
                                        extra, "}"));
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

}  // namespace xctl::testing
