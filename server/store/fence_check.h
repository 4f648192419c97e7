// The check of a WriteFence inside a write transaction (write_fence.h);
// internal to server/store/ (Store::Transact runs it).
#pragma once

#include "absl/status/status.h"
#include "server/store/store.h"
#include "server/store/write_fence.h"

namespace soci {
class session;
}

namespace xctl::store_internal {

// Runs the fence check on `sql`, which must be inside the write transaction
// (BEGIN / BEGIN IMMEDIATE sent). OK when the tenure is current; LEASE_LOST
// otherwise. Throws SOCI errors (the caller's Guard maps them).
absl::Status CheckFence(soci::session& sql, Dialect dialect, const WriteFence& fence);

}  // namespace xctl::store_internal
