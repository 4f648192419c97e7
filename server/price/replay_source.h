// ReplaySource: plays recorded ticks from a CSV file
// (`timestamp_ms,pair,bid,ask,last`, an optional header line, empty bid/ask
// allowed) at recorded speed times `speed`. Each Fetch returns the newest
// recorded tick of each pair whose time has come; after the last row the
// prices stay where they ended (and go stale).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/price/price_source.h"

namespace xctl {

class ReplaySource : public PriceSource {
 public:
  // Reads and validates the whole file; errors name the line.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ReplaySource>> Open(
      const std::string& path, double speed, Clock& clock = SystemClock());

  absl::string_view name() const override { return "replay"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>& pairs) override;

  size_t size() const { return rows_.size(); }

 private:
  ReplaySource(std::vector<Tick> rows, double speed, Clock& clock)
      : rows_(std::move(rows)), speed_(speed), clock_(clock) {}

  std::vector<Tick> rows_;  // sorted by exchange time
  double speed_;
  Clock& clock_;
  int64_t start_ms_ = -1;
  size_t next_ = 0;
};

// Parses replay CSV text; `source` names it in errors.
[[nodiscard]] absl::StatusOr<std::vector<Tick>> ParseReplayCsv(
    absl::string_view text, absl::string_view source);

}  // namespace xctl
