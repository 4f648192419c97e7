// Open findings: invariants the fuzz targets check that the current product
// code is known to break, each reported to the lead with a reproducer
// (fuzz/README.md, "Open findings"). A FUZZ_OPEN check naming an issue listed
// here is skipped, so the targets keep looking for new problems; with
// XCTL_FUZZ_STRICT=1 in the environment (scripts/fuzz --strict) it is enforced.
//
// When the product code is fixed, delete the issue's line: its checks then
// hold on every run.
#pragma once

#include <vector>

#include "absl/strings/string_view.h"

namespace xctl_fuzz {

// One id per line, with a comment saying what is wrong. None open now: the
// first five findings (decimal-min-saturation, blofin-empty-ids,
// blofin-negative-amounts, blofin-instrument-limits, json-deep-nesting) were
// fixed and are checked on every run.
inline const std::vector<absl::string_view> kOpenIssues = {
};

}  // namespace xctl_fuzz
