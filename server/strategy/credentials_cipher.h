// CredentialsCipher: how a live strategy's BloFin credentials are kept in the
// store: AES-256-GCM (OpenSSL EVP) of the credentials serialized as JSON, with
// a fresh random 12-byte IV per encryption and the 16-byte tag checked on
// decryption; stored as Base64(iv | ciphertext | tag). The strategy id is
// bound as associated data, so a ciphertext copied to another strategy's row
// does not decrypt.
//
// The 32-byte master key comes from the environment variable XCTL_MASTER_KEY
// (Base64 of 32 bytes) or, when that is unset, from a key file of 32 raw
// bytes, created with mode 0600 from RAND_bytes when missing (Load), refused
// when open to group or others. Losing the key loses the stored credentials
// (they must be entered again; xctld refuses to start until the key is
// restored or they are given up: master_key.h); nothing else.
//
// Signal secrets are not encrypted but hashed, salted and slow (PBKDF2-HMAC-
// SHA256, docs/security.md): a signal only needs to be compared with them,
// in constant time.
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
  // random bytes) when missing and `create_if_missing` (else NOT_FOUND).
  // PERMISSION_DENIED when the file is open to group or others (the message
  // says `chmod 600 PATH`); FAILED_PRECONDITION when it cannot be read or
  // created or does not hold 32 bytes, naming the path.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CredentialsCipher>> Load(
      const std::string& key_file, bool create_if_missing = true);

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

// PBKDF2 iterations of a new signal secret hash: about 5 ms of one core, so
// a dump of the database gives an offline guesser a few hundred tries a
// second per core instead of millions, and a signal costs one such check
// (failed checks are rate limited per caller, server/api/auth.h).
inline constexpr int kSignalSecretIterations = 20'000;

// The form stored in strategies.signal_secret_hash, self-describing:
// "pbkdf2-sha256:ITERATIONS:SALT:DIGEST" (hex; a fresh 16-byte random salt,
// a 32-byte PBKDF2-HMAC-SHA256 digest). Not deterministic: compare with
// SignalSecretMatches.
std::string HashSignalSecret(absl::string_view secret);

// True when `secret` matches `stored_hash`, in either form: the current one
// above, or the legacy lowercase hex SHA-256 (unsalted) of older xctl, kept
// working until the secret is set again. Compared in constant time
// (CRYPTO_memcmp).
bool SignalSecretMatches(absl::string_view secret, absl::string_view stored_hash);

// True for a stored hash of the legacy form (rewritten on the next set).
bool IsLegacySignalSecretHash(absl::string_view stored_hash);

}  // namespace xctl
