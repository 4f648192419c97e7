// The checks of the strategy manager's requests and records, and the errors
// it answers with: field checks of a stored strategy, of credentials and of
// an update request, and the comparisons that say what a change touches.
// Pure functions; no store, no locks.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/exchange/credentials.h"
#include "server/model/types.h"
#include "server/store/store.h"
#include "server/strategy/strategy_view.h"

namespace xctl {

// NOT_FOUND `strategy "x" not found` (STRATEGY_NOT_FOUND).
absl::Status StrategyNotFound(absl::string_view id);

// INVALID_ARGUMENT "<field>: <message>".
absl::Status InvalidField(absl::string_view field, absl::string_view message);

// Keeps the code, puts `prefix` before the message (OK stays OK).
absl::Status Prefixed(const absl::Status& status, absl::string_view prefix);

// The fields StrategyUpdate.paths may name.
const std::vector<std::string>& UpdatablePaths();

// The checks every stored strategy passes (the type and params are checked
// by building an instance): id, name length, pairs (valid, not repeated),
// balance and leverage above 0, fee rates (a maker rate may be a rebate).
absl::Status ValidateStrategyFields(const StrategyRecord& record);

// Every part of the credentials is given.
absl::Status ValidateCredentials(const BlofinCredentials& credentials);

// The checks of an update that need no stored strategy, in the order the
// API documents: known paths, not both set and clear, something to change,
// complete credentials, a master key for them (`has_cipher`).
absl::Status CheckUpdateRequest(const StrategyUpdate& update, bool has_cipher);

// FAILED_PRECONDITION: credentials given but no master key on this server.
absl::Status NoMasterKeyError();

// True when exchange control or the instance must learn of the change.
bool RuntimeFieldsDiffer(const StrategyRecord& a, const StrategyRecord& b);
// True when nothing stored differs.
bool SameStoredFields(const StrategyRecord& a, const StrategyRecord& b);
// Live with credentials, else paper.
TradingMode ModeOf(const StrategyRecord& record);

}  // namespace xctl
