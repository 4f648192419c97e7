// Early-return helpers for absl::Status and absl::StatusOr, project-prefixed.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define XCTL_STATUS_CONCAT_INNER_(a, b) a##b
#define XCTL_STATUS_CONCAT_(a, b) XCTL_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define XCTL_RETURN_IF_ERROR(expr)                \
  do {                                            \
    if (absl::Status xctl_status_ = (expr);       \
        !xctl_status_.ok()) {                     \
      return xctl_status_;                        \
    }                                             \
  } while (false)

// `XCTL_ASSIGN_OR_RETURN(auto x, Foo());` declares x from the value of an
// absl::StatusOr, or returns its status from the enclosing function.
#define XCTL_ASSIGN_OR_RETURN(lhs, expr)                                     \
  XCTL_ASSIGN_OR_RETURN_IMPL_(XCTL_STATUS_CONCAT_(xctl_statusor_, __LINE__), \
                              lhs, expr)

#define XCTL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
