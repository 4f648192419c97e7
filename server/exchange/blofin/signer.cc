#include "server/exchange/blofin/signer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace xctl::blofin {

std::string Sign(absl::string_view secret, absl::string_view prehash) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(prehash.data()), prehash.size(), digest,
       &digest_len);
  const std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_len));
  std::string out(4 * ((hex.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(hex.data()),
                                static_cast<int>(hex.size()));
  out.resize(n);
  return out;
}

std::vector<std::string> AuthHeaders(const BlofinCredentials& credentials,
                                     absl::string_view method, absl::string_view target,
                                     absl::string_view body, int64_t timestamp_ms,
                                     absl::string_view nonce) {
  const std::string timestamp = absl::StrCat(timestamp_ms);
  const std::string prehash = absl::StrCat(target, method, timestamp, nonce, body);
  return {
      absl::StrCat("ACCESS-KEY: ", credentials.api_key.value()),
      absl::StrCat("ACCESS-SIGN: ", Sign(credentials.api_secret.value(), prehash)),
      absl::StrCat("ACCESS-TIMESTAMP: ", timestamp),
      absl::StrCat("ACCESS-NONCE: ", nonce),
      absl::StrCat("ACCESS-PASSPHRASE: ", credentials.passphrase.value()),
  };
}

std::string NewNonce() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  uint64_t a, b;
  {
    absl::MutexLock lock(&mu);
    a = absl::Uniform<uint64_t>(*gen);
    b = absl::Uniform<uint64_t>(*gen);
  }
  return absl::StrCat(absl::Hex(a, absl::kZeroPad16), absl::Hex(b, absl::kZeroPad16));
}

}  // namespace xctl::blofin
