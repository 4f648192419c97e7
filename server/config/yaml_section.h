// Section: the strict walk over one YAML mapping that ParseConfig
// (server/config/config.h) is built from. Every error names the file, the key
// path and what is expected. Internal to server/config/.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace xctl::config_internal {

// Walks one YAML mapping, refusing keys it does not know. `path` names the
// mapping in errors ("strategies[0]"; empty at the top), `source` the file.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, std::string source)
      : node_(node), path_(std::move(path)), source_(std::move(source)) {}

  // INVALID_ARGUMENT unless the node is a mapping.
  absl::Status CheckType() const {
    if (!node_.IsMap()) return Error("", "expected a mapping of key: value");
    return absl::OkStatus();
  }

  // Refuses any key not in `known`.
  absl::Status CheckKeys(const std::set<std::string>& known) const {
    for (const auto& kv : node_) {
      std::string key = kv.first.as<std::string>();
      if (!known.count(key)) {
        return absl::InvalidArgumentError(absl::StrCat(
            source_, ": unknown key ", LogQuote(key), " (known keys",
            path_.empty() ? "" : absl::StrCat(" in ", path_), ": ",
            absl::StrJoin(known, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  // Whether `key` is present; its node, for a nested section or a list.
  bool Has(const std::string& key) const { return node_[key].IsDefined(); }
  YAML::Node Get(const std::string& key) const { return node_[key]; }

  // The readers below leave *out as it is when `key` is absent (the default)
  // and name the key and the expected form when its value does not fit.
  absl::Status String(const std::string& key, std::string* out) const {
    YAML::Node v = node_[key];
    if (!v.IsDefined()) return absl::OkStatus();
    if (!v.IsScalar()) return Error(key, "expected a single value");
    *out = v.as<std::string>();
    return absl::OkStatus();
  }

  // Sets *out only when `key` is present.
  absl::Status OptString(const std::string& key,
                         std::optional<std::string>* out) const {
    if (!Has(key)) return absl::OkStatus();
    std::string s;
    XCTL_RETURN_IF_ERROR(String(key, &s));
    *out = s;
    return absl::OkStatus();
  }

  template <typename Int>
  absl::Status Integer(const std::string& key, Int* out) const {
    std::string s;
    if (!Has(key)) return absl::OkStatus();
    XCTL_RETURN_IF_ERROR(String(key, &s));
    if (!absl::SimpleAtoi(s, out)) {
      return Error(key, absl::StrCat("expected a whole number, got \"", s, "\""));
    }
    return absl::OkStatus();
  }

  absl::Status Double(const std::string& key, double* out) const {
    std::string s;
    if (!Has(key)) return absl::OkStatus();
    XCTL_RETURN_IF_ERROR(String(key, &s));
    if (!absl::SimpleAtod(s, out)) {
      return Error(key, absl::StrCat("expected a number, got \"", s, "\""));
    }
    return absl::OkStatus();
  }

  absl::Status Bool(const std::string& key, bool* out) const {
    std::string s;
    if (!Has(key)) return absl::OkStatus();
    XCTL_RETURN_IF_ERROR(String(key, &s));
    if (!absl::SimpleAtob(s, out)) {
      return Error(key, absl::StrCat("expected true or false, got \"", s, "\""));
    }
    return absl::OkStatus();
  }

  // A YAML list, or one comma-separated value.
  absl::Status StringList(const std::string& key,
                          std::vector<std::string>* out) const {
    YAML::Node v = node_[key];
    if (!v.IsDefined()) return absl::OkStatus();
    out->clear();
    if (v.IsScalar()) {  // "BTC-USDT,ETH-USDT" is accepted too
      for (absl::string_view p : absl::StrSplit(v.as<std::string>(), ',', absl::SkipWhitespace())) {
        out->emplace_back(absl::StripAsciiWhitespace(p));
      }
      return absl::OkStatus();
    }
    if (!v.IsSequence()) return Error(key, "expected a list");
    for (const auto& item : v) {
      if (!item.IsScalar()) return Error(key, "expected a list of values");
      out->push_back(item.as<std::string>());
    }
    return absl::OkStatus();
  }

  // A mapping of single values, added to *out.
  absl::Status StringMap(const std::string& key,
                         std::map<std::string, std::string>* out) const {
    YAML::Node v = node_[key];
    if (!v.IsDefined()) return absl::OkStatus();
    if (!v.IsMap()) return Error(key, "expected a mapping of key: value");
    for (const auto& kv : v) {
      if (!kv.second.IsScalar()) {
        return Error(absl::StrCat(key, ".", kv.first.as<std::string>()),
                     "expected a single value");
      }
      (*out)[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
    return absl::OkStatus();
  }

  // INVALID_ARGUMENT "<source>: "<path>.<key>": <what>".
  absl::Status Error(const std::string& key, absl::string_view what) const {
    std::string where = path_;
    if (!key.empty()) where = where.empty() ? key : absl::StrCat(path_, ".", key);
    return absl::InvalidArgumentError(absl::StrCat(
        source_, ": ", where.empty() ? "" : absl::StrCat("\"", where, "\": "), what));
  }

 private:
  YAML::Node node_;
  std::string path_;
  std::string source_;
};

}  // namespace xctl::config_internal
