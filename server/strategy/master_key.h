// The master key at xctld's start (docs/operations.md, "The master key"):
// which key encrypts the strategies' BloFin credentials, and the refusals
// that keep a lost or wrong key from silently costing them.
//
//   - No stored credentials need it: the key is loaded, or created (0600)
//     when missing; if that fails xctld runs without one (paper strategies
//     need none; setting credentials is then refused with the reason).
//   - Stored credentials exist: the key must be there (a missing key file is
//     never replaced by a new one) and must decrypt them; otherwise the start
//     is refused with how to recover (restore the key, or
//     --forget-credentials).
//   - A key file open to group or others is always refused (`chmod 600`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/store/store.h"
#include "server/strategy/credentials_cipher.h"

namespace xctl {

struct MasterKeyOptions {
  // The key file (XCTL_MASTER_KEY, when set, wins over it).
  std::string key_file;
  // Strategies whose credentials the config sets again at this start
  // (credentials_env): what is stored for them is not needed.
  std::vector<std::string> resupplied;
  // Clear every stored credential that needs the key first (xctld
  // --forget-credentials): those strategies switch to paper.
  bool forget_credentials = false;
};

// The cipher, or null when there is none and nothing stored needs one; an
// error when xctld must not start: FAILED_PRECONDITION naming the
// strategies and saying how to recover (key file missing, or the key
// decrypts none of the stored credentials), PERMISSION_DENIED for a key file
// open to others, the key's own error otherwise, store errors as they are.
[[nodiscard]] absl::StatusOr<std::unique_ptr<CredentialsCipher>> LoadMasterKey(
    Store& store, const MasterKeyOptions& options, const Clock& clock);

}  // namespace xctl
