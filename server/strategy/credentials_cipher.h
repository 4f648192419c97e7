// CredentialsCipher: how a live strategy's BloFin credentials are kept in the
// store: AES-256-GCM (OpenSSL EVP) of the credentials serialized as JSON, with
// a fresh random 12-byte IV per encryption and the 16-byte tag checked on
// decryption; stored as Base64(iv | ciphertext | tag). The strategy id is
// bound as associated data, so a ciphertext copied to another strategy's row
// does not decrypt.
//
// The 32-byte master key comes from the environment variable XCTL_MASTER_KEY
// (Base64 of 32 bytes) or, when that is unset, from a key file of 32 raw
// bytes, created with mode 0600 from RAND_bytes when missing. Losing the key
// loses the stored credentials (they must be entered again); nothing else.
//
// Signal secrets are not encrypted but hashed (SHA-256, hex): a signal only
// needs to be compared with them, in constant time.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/exchange/credentials.h"

namespace xctl {

inline constexpr char kMasterKeyEnv[] = "XCTL_MASTER_KEY";

class CredentialsCipher {
 public:
  static constexpr size_t kKeySize = 32;

  // The key from XCTL_MASTER_KEY when set (INVALID_ARGUMENT when it is not
  // the Base64 of 32 bytes), else from `key_file`, created (mode 0600, 32
  // random bytes) when missing. FAILED_PRECONDITION when the file cannot be
  // read or created or does not hold 32 bytes, naming the path.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CredentialsCipher>> Load(
      const std::string& key_file);

  // A cipher with a Base64 key of 32 bytes (tests, tools).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CredentialsCipher>> FromBase64Key(
      absl::string_view key_base64);

  ~CredentialsCipher();
  CredentialsCipher(const CredentialsCipher&) = delete;
  CredentialsCipher& operator=(const CredentialsCipher&) = delete;

  // Base64(iv | ciphertext | tag) of `credentials`, bound to `strategy_id`.
  // INTERNAL only if OpenSSL fails.
  [[nodiscard]] absl::StatusOr<std::string> Encrypt(const BlofinCredentials& credentials,
                                                    absl::string_view strategy_id) const;

  // The credentials back. DATA_LOSS, saying nothing about the content, when
  // the text is not such a ciphertext, was changed, was made with another
  // key or for another strategy.
  [[nodiscard]] absl::StatusOr<BlofinCredentials> Decrypt(absl::string_view ciphertext,
                                                          absl::string_view strategy_id) const;

  // "XCTL_MASTER_KEY", the key file's path, or "explicit key": for the
  // start-up log (never the key).
  const std::string& key_source() const { return key_source_; }

 private:
  CredentialsCipher(const unsigned char* key, std::string key_source);

  std::array<unsigned char, kKeySize> key_;
  const std::string key_source_;
};

// Lowercase hex SHA-256 of a signal secret, the form stored in
// strategies.signal_secret_hash.
std::string HashSignalSecret(absl::string_view secret);

// True when `secret` hashes to `stored_hash`; compared in constant time
// (CRYPTO_memcmp).
bool SignalSecretMatches(absl::string_view secret, absl::string_view stored_hash);

}  // namespace xctl
