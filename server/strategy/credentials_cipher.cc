#include "server/strategy/credentials_cipher.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/common/log.h"

namespace xctl {
namespace {

constexpr size_t kIvSize = 12;
constexpr size_t kTagSize = 16;
constexpr char kAadPrefix[] = "xctl.credentials.v1:";

// A byte buffer wiped when it goes away (plaintext credentials, keys).
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t n) : bytes_(n) {}
  ~SecureBytes() {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  }
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;
  unsigned char* data() { return bytes_.data(); }
  const unsigned char* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  void resize(size_t n) { bytes_.resize(n); }

 private:
  std::vector<unsigned char> bytes_;
};

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

std::string Base64Encode(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                          static_cast<int>(size));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// Strict Base64 (with padding, no whitespace). False for anything else.
bool Base64Decode(absl::string_view text, SecureBytes* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || (c == '=' && i >= text.size() - 2);
    if (!ok) return false;
  }
  size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') {
    if (text.back() != '=') return false;
    ++padding;
  }
  out->resize(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out->data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) < padding) return false;
  out->resize(static_cast<size_t>(n) - padding);
  return true;
}

std::string Aad(absl::string_view strategy_id) { return absl::StrCat(kAadPrefix, strategy_id); }

absl::Status DecryptFailed() {
  return absl::DataLossError(
      "stored credentials cannot be decrypted: the master key differs from the one they were "
      "stored with, or the stored value is damaged; set the credentials again "
      "(UpdateStrategy with credentials)");
}

// Reads exactly 32 bytes from an existing key file.
absl::StatusOr<std::unique_ptr<SecureBytes>> ReadKeyFile(const std::string& path, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat master key file ", path, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("master key file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    // Whoever can read it can decrypt every stored credential.
    spdlog::error("event=master_key_file_permissions path={} mode={:o} advice={}", path,
                  st.st_mode & 0777, LogQuote(absl::StrCat("chmod 600 ", path)));
    return absl::PermissionDeniedError(absl::StrCat(
        "master key file ", path, " is open to group or others (mode ",
        absl::StrFormat("%04o", st.st_mode & 0777),
        "): whoever can read it can decrypt the stored credentials; run `chmod 600 ", path,
        "` (and check who may have copied it)"));
  }
  auto key = std::make_unique<SecureBytes>(CredentialsCipher::kKeySize + 1);
  size_t got = 0;
  while (got < key->size()) {
    ssize_t n = read(fd, key->data() + got, key->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read master key file ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != CredentialsCipher::kKeySize) {
    return absl::FailedPreconditionError(absl::StrCat(
        "master key file ", path, " holds ", got == key->size() ? "more than 32" : absl::StrCat(got),
        " bytes, expected exactly 32 (xctld writes 32 random bytes); restore the file from "
        "backup, or remove it to start a new key (stored credentials must then be set again)"));
  }
  key->resize(CredentialsCipher::kKeySize);
  return key;
}

// Writes a new key file atomically: a temp file (0600) linked into place, so
// a crash never leaves a short key and two processes agree on one key.
absl::Status CreateKeyFile(const std::string& path) {
  SecureBytes key(CredentialsCipher::kKeySize);
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return absl::InternalError("RAND_bytes failed to make a master key");
  }
  std::string tmp = absl::StrCat(path, ".tmp-", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create master key file ", tmp,
                                                      ": ", std::strerror(errno),
                                                      " (does its folder exist and is it "
                                                      "writable?)"));
  }
  bool ok = fchmod(fd, 0600) == 0;
  size_t put = 0;
  while (ok && put < key.size()) {
    ssize_t n = write(fd, key.data() + put, key.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    put += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  int saved_errno = errno;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write master key file ", tmp,
                                                      ": ", std::strerror(saved_errno)));
  }
  int linked = link(tmp.c_str(), path.c_str());
  saved_errno = errno;
  unlink(tmp.c_str());
  if (linked != 0 && saved_errno != EEXIST) {  // EEXIST: another process won; use its key
    return absl::FailedPreconditionError(absl::StrCat("cannot create master key file ", path,
                                                      ": ", std::strerror(saved_errno)));
  }
  if (linked == 0) spdlog::info("event=master_key_created path={}", path);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SecureBytes>> LoadKeyFile(const std::string& path,
                                                         bool create_if_missing) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      auto key = ReadKeyFile(path, fd);
      close(fd);
      return key;
    }
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open master key file ", path, ": ", std::strerror(errno)));
    }
    if (!create_if_missing) {
      return absl::NotFoundError(absl::StrCat("master key file ", path, " does not exist"));
    }
    if (attempt == 0) {
      if (absl::Status s = CreateKeyFile(path); !s.ok()) return s;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("master key file ", path, " vanished right after it was created"));
}

}  // namespace

CredentialsCipher::CredentialsCipher(const unsigned char* key, std::string key_source)
    : key_source_(std::move(key_source)) {
  std::memcpy(key_.data(), key, kKeySize);
}

CredentialsCipher::~CredentialsCipher() { OPENSSL_cleanse(key_.data(), key_.size()); }

absl::StatusOr<std::unique_ptr<CredentialsCipher>> CredentialsCipher::FromBase64Key(
    absl::string_view key_base64) {
  SecureBytes key;
  if (!Base64Decode(key_base64, &key) || key.size() != kKeySize) {
    return absl::InvalidArgumentError(
        "master key: expected the Base64 of exactly 32 random bytes (for example the output "
        "of `openssl rand -base64 32`)");
  }
  return std::unique_ptr<CredentialsCipher>(new CredentialsCipher(key.data(), "explicit key"));
}

absl::StatusOr<std::unique_ptr<CredentialsCipher>> CredentialsCipher::Load(
    const std::string& key_file, bool create_if_missing) {
  const char* env = std::getenv(kMasterKeyEnv);
  if (env != nullptr && *env != '\0') {
    auto cipher = FromBase64Key(env);
    if (!cipher.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          kMasterKeyEnv, ": expected the Base64 of exactly 32 random bytes (for example the "
          "output of `openssl rand -base64 32`); unset it to use the key file instead"));
    }
    return std::unique_ptr<CredentialsCipher>(
        new CredentialsCipher((*cipher)->key_.data(), kMasterKeyEnv));
  }
  if (key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no master key: set ", kMasterKeyEnv, " or give a key file path"));
  }
  auto key = LoadKeyFile(key_file, create_if_missing);
  if (!key.ok()) return key.status();
  return std::unique_ptr<CredentialsCipher>(new CredentialsCipher((*key)->data(), key_file));
}

absl::StatusOr<std::string> CredentialsCipher::Encrypt(const BlofinCredentials& credentials,
                                                       absl::string_view strategy_id) const {
  rapidjson::StringBuffer json;
  {
    rapidjson::Writer<rapidjson::StringBuffer> w(json);
    auto field = [&](const char* name, const Secret& value) {
      w.Key(name);
      w.String(value.value().data(), static_cast<rapidjson::SizeType>(value.value().size()));
    };
    w.StartObject();
    field("api_key", credentials.api_key);
    field("api_secret", credentials.api_secret);
    field("passphrase", credentials.passphrase);
    w.EndObject();
  }
  const auto* plain = reinterpret_cast<const unsigned char*>(json.GetString());
  const size_t plain_size = json.GetSize();
  auto wipe_json = [&] { OPENSSL_cleanse(const_cast<char*>(json.GetString()), json.GetSize()); };

  std::vector<unsigned char> out(kIvSize + plain_size + kTagSize);
  unsigned char* iv = out.data();
  unsigned char* body = out.data() + kIvSize;
  unsigned char* tag = body + plain_size;
  const std::string aad = Aad(strategy_id);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0, final_len = 0;
  bool ok = ctx && RAND_bytes(iv, kIvSize) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kIvSize, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), iv) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), body, &len, plain, static_cast<int>(plain_size)) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), body + len, &final_len) == 1 &&
            static_cast<size_t>(len + final_len) == plain_size &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
  wipe_json();
  if (!ok) return absl::InternalError("OpenSSL failed to encrypt the credentials");
  return Base64Encode(out.data(), out.size());
}

absl::StatusOr<BlofinCredentials> CredentialsCipher::Decrypt(absl::string_view ciphertext,
                                                             absl::string_view strategy_id) const {
  SecureBytes raw;
  if (!Base64Decode(ciphertext, &raw) || raw.size() < kIvSize + kTagSize) return DecryptFailed();
  const size_t body_size = raw.size() - kIvSize - kTagSize;
  const unsigned char* iv = raw.data();
  const unsigned char* body = raw.data() + kIvSize;
  unsigned char tag[kTagSize];
  std::memcpy(tag, body + body_size, kTagSize);
  SecureBytes plain(body_size + 1);
  const std::string aad = Aad(strategy_id);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0, final_len = 0;
  bool ok = ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kIvSize, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), iv) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), plain.data(), &len, body, static_cast<int>(body_size)) ==
                1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &final_len) == 1;
  if (!ok) return DecryptFailed();
  plain.resize(static_cast<size_t>(len + final_len));

  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(reinterpret_cast<const char*>(plain.data()), plain.size());
  if (doc.HasParseError() || !doc.IsObject()) return DecryptFailed();
  BlofinCredentials out;
  for (auto [name, target] : {std::pair{"api_key", &out.api_key},
                              std::pair{"api_secret", &out.api_secret},
                              std::pair{"passphrase", &out.passphrase}}) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) return DecryptFailed();
    *target = Secret(std::string(it->value.GetString(), it->value.GetStringLength()));
  }
  return out;
}

namespace {

constexpr char kPbkdf2Prefix[] = "pbkdf2-sha256:";
constexpr size_t kSaltSize = 16;
constexpr size_t kDigestSize = 32;

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    hex += kHex[data[i] >> 4];
    hex += kHex[data[i] & 0xf];
  }
  return hex;
}

bool FromHex(absl::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

// The legacy form: lowercase hex SHA-256 of the secret, unsalted.
std::string Sha256Hex(absl::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(secret.data(), secret.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return "sha256-failed";  // never equal to a stored hash
  }
  return Hex(digest, size);
}

bool Pbkdf2(absl::string_view secret, absl::string_view salt, int iterations,
            unsigned char* out) {
  return PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()),
                           static_cast<int>(salt.size()), iterations, EVP_sha256(), kDigestSize,
                           out) == 1;
}

}  // namespace

std::string HashSignalSecret(absl::string_view secret) {
  unsigned char salt[kSaltSize];
  unsigned char digest[kDigestSize];
  if (RAND_bytes(salt, sizeof(salt)) != 1 ||
      !Pbkdf2(secret, absl::string_view(reinterpret_cast<const char*>(salt), sizeof(salt)),
              kSignalSecretIterations, digest)) {
    return "hash-failed";  // matches no secret: the strategy refuses every signal
  }
  return absl::StrCat(kPbkdf2Prefix, kSignalSecretIterations, ":", Hex(salt, sizeof(salt)), ":",
                      Hex(digest, sizeof(digest)));
}

bool IsLegacySignalSecretHash(absl::string_view stored_hash) {
  return !absl::StartsWith(stored_hash, kPbkdf2Prefix);
}

bool SignalSecretMatches(absl::string_view secret, absl::string_view stored_hash) {
  absl::string_view rest = stored_hash;
  if (!absl::ConsumePrefix(&rest, kPbkdf2Prefix)) {
    // The legacy unsalted SHA-256 (hex): still accepted; replaced by the
    // salted form the next time the secret is set.
    const std::string hash = Sha256Hex(secret);
    // The length of a SHA-256 hex digest is public; only the content is
    // compared in constant time.
    return hash.size() == stored_hash.size() &&
           CRYPTO_memcmp(hash.data(), stored_hash.data(), hash.size()) == 0;
  }
  // pbkdf2-sha256:ITERATIONS:SALT_HEX:DIGEST_HEX
  std::vector<absl::string_view> parts = absl::StrSplit(rest, ':');
  int iterations = 0;
  std::string salt, expected;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &iterations) || iterations < 1 ||
      iterations > 10'000'000 || !FromHex(parts[1], &salt) || salt.empty() ||
      !FromHex(parts[2], &expected) || expected.size() != kDigestSize) {
    return false;
  }
  unsigned char digest[kDigestSize];
  if (!Pbkdf2(secret, salt, iterations, digest)) return false;
  return CRYPTO_memcmp(digest, expected.data(), kDigestSize) == 0;
}

}  // namespace xctl
