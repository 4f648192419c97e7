// BloFin request signing (REST API v1). Every private request carries
//   ACCESS-KEY, ACCESS-SIGN, ACCESS-TIMESTAMP (ms), ACCESS-NONCE, ACCESS-PASSPHRASE
// where ACCESS-SIGN = Base64(lowercase hex(HMAC-SHA256(secret, prehash))) and
//   prehash = request target (path + "?query") + METHOD + timestamp + nonce + body.
// Note the Base64 is taken over the 64-character hex text, not the raw
// digest, so a signature is 88 characters. HMAC and Base64 come from OpenSSL.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/exchange/credentials.h"

namespace xctl::blofin {

// Base64(hex(HMAC-SHA256(secret, prehash))).
std::string Sign(absl::string_view secret, absl::string_view prehash);

// The five ACCESS-* headers ("Name: value") of one request. `target` is the
// path with its query string exactly as sent; `body` the exact bytes sent.
std::vector<std::string> AuthHeaders(const BlofinCredentials& credentials,
                                     absl::string_view method, absl::string_view target,
                                     absl::string_view body, int64_t timestamp_ms,
                                     absl::string_view nonce);

// A fresh nonce: 32 random hex digits.
std::string NewNonce();

}  // namespace xctl::blofin
