// Validation of BloFin instrument ids ("BTC-USDT") and xctl identifiers.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace xctl {

// OK for a BloFin instrument id: BASE-QUOTE, each 1-20 uppercase ASCII
// letters or digits ("BTC-USDT", "1000PEPE-USDT"). Otherwise INVALID_ARGUMENT
// with a message that names the value and the expected form.
[[nodiscard]] absl::Status ValidateSymbol(absl::string_view symbol);

// OK for a strategy id: 1-64 characters of [a-z0-9_-], starting with a letter
// or digit.
[[nodiscard]] absl::Status ValidateStrategyId(absl::string_view id);

}  // namespace xctl
