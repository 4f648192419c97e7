// Maps SOCI exceptions to absl::Status (for server/store/ and the cluster's
// lease table, server/cluster/lease.cc, which runs its own session).
#pragma once

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xctl::store_internal {

// The status for the exception being handled (call from a catch block).
absl::Status CurrentExceptionToStatus(absl::string_view what);

// Runs `fn` (returning Status or StatusOr), turning exceptions into statuses.
template <typename F>
auto Guard(absl::string_view what, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    return CurrentExceptionToStatus(what);
  }
}

}  // namespace xctl::store_internal
