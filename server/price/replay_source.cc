#include "server/price/replay_source.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/common/symbol.h"

namespace xctl {

absl::StatusOr<std::vector<Tick>> ParseReplayCsv(absl::string_view text,
                                                 absl::string_view source) {
  std::vector<Tick> rows;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line_no == 1 && absl::StartsWith(line, "timestamp")) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ',');
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line_no, ": ", why,
                       " (expected timestamp_ms,pair,bid,ask,last)"));
    };
    if (f.size() != 5) return bad(absl::StrCat(f.size(), " fields"));
    Tick t;
    if (!absl::SimpleAtoi(f[0], &t.exchange_time_ms) || t.exchange_time_ms < 0) {
      return bad("bad timestamp");
    }
    t.pair = std::string(f[1]);
    if (absl::Status s = ValidateSymbol(t.pair); !s.ok()) return bad(s.message());
    for (int i : {2, 3}) {
      if (f[i].empty()) continue;
      auto d = Decimal::Parse(f[i]);
      if (!d.ok() || !d->is_positive()) return bad("bad bid/ask");
      (i == 2 ? t.bid : t.ask) = *d;
    }
    auto last = Decimal::Parse(f[4]);
    if (!last.ok() || !last->is_positive()) return bad("bad last price");
    t.last = *last;
    rows.push_back(std::move(t));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Tick& a, const Tick& b) {
    return a.exchange_time_ms < b.exchange_time_ms;
  });
  return rows;
}

absl::StatusOr<std::unique_ptr<ReplaySource>> ReplaySource::Open(
    const std::string& path, double speed, Clock& clock) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read replay file \"", path, "\""));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto rows = ParseReplayCsv(buffer.str(), path);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("replay file \"", path, "\" has no ticks"));
  }
  if (!(speed > 0)) return absl::InvalidArgumentError("replay speed must be > 0");
  return std::unique_ptr<ReplaySource>(new ReplaySource(*std::move(rows), speed, clock));
}

absl::StatusOr<std::vector<Tick>> ReplaySource::Fetch(
    const std::vector<std::string>& pairs) {
  int64_t now = clock_.NowMillis();
  if (start_ms_ < 0) start_ms_ = now;
  const int64_t t0 = rows_.front().exchange_time_ms;
  const int64_t reached =
      t0 + static_cast<int64_t>(static_cast<double>(now - start_ms_) * speed_);
  absl::flat_hash_map<std::string, Tick> latest;
  while (next_ < rows_.size() && rows_[next_].exchange_time_ms <= reached) {
    latest[rows_[next_].pair] = rows_[next_];
    ++next_;
  }
  std::vector<Tick> out;
  for (const auto& p : pairs) {
    auto it = latest.find(p);
    if (it != latest.end()) out.push_back(it->second);
  }
  return out;
}

}  // namespace xctl
