// BlofinCredentials: a live strategy's BloFin API key, secret and passphrase,
// held as Secret so they print as "***" in any log line. Decrypted from the
// store by the strategy manager and handed to the BloFin exchange, which
// alone reads value() to sign requests.
#pragma once

#include "server/common/log.h"

namespace xctl {

struct BlofinCredentials {
  Secret api_key;
  Secret api_secret;
  Secret passphrase;
  bool operator==(const BlofinCredentials&) const = default;
};

}  // namespace xctl
