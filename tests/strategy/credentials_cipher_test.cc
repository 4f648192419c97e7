// CredentialsCipher: AES-256-GCM round trip, tamper detection (DATA_LOSS that
// reveals nothing), binding to the strategy id, the master key from
// XCTL_MASTER_KEY or a key file created with mode 0600, and signal secret
// hashing.
#include "server/strategy/credentials_cipher.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// 32 bytes 0x00..0x1f and 32 bytes of 0x55, in Base64.
constexpr char kKeyA[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kKeyB[] = "VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVU=";

BlofinCredentials Creds() {
  return {.api_key = Secret("key-AKIA1234"),
          .api_secret = Secret("secret-s3cr3t-value"),
          .passphrase = Secret("pass-phrase-42")};
}

std::string Base64Decoded(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  size_t pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : (text.back() == '=' ? 1 : 0);
  out.resize(n - pad);
  return out;
}

// Unsets XCTL_MASTER_KEY for the test, restoring it afterwards.
class MasterKeyEnv {
 public:
  MasterKeyEnv() {
    if (const char* v = std::getenv(kMasterKeyEnv)) saved_ = v;
    unsetenv(kMasterKeyEnv);
  }
  ~MasterKeyEnv() {
    if (saved_) {
      setenv(kMasterKeyEnv, saved_->c_str(), 1);
    } else {
      unsetenv(kMasterKeyEnv);
    }
  }
  void Set(const char* value) { setenv(kMasterKeyEnv, value, 1); }

 private:
  std::optional<std::string> saved_;
};

TEST(CredentialsCipherTest, RoundTripGivesTheSameCredentials) {
  auto cipher = CredentialsCipher::FromBase64Key(kKeyA).value();
  std::string text = cipher->Encrypt(Creds(), "live-1").value();
  EXPECT_EQ(cipher->Decrypt(text, "live-1").value(), Creds());
}

TEST(CredentialsCipherTest, CiphertextIsIvBodyTagInBase64WithoutThePlaintext) {
  auto cipher = CredentialsCipher::FromBase64Key(kKeyA).value();
  std::string text = cipher->Encrypt(Creds(), "live-1").value();
  const std::string json =
      R"({"api_key":"key-AKIA1234","api_secret":"secret-s3cr3t-value","passphrase":"pass-phrase-42"})";
  EXPECT_EQ(Base64Decoded(text).size(), 12 + json.size() + 16);
  for (const char* secret : {"key-AKIA1234", "secret-s3cr3t-value", "pass-phrase-42"}) {
    EXPECT_THAT(text, Not(HasSubstr(secret)));
    EXPECT_THAT(Base64Decoded(text), Not(HasSubstr(secret)));
  }
}

TEST(CredentialsCipherTest, EachEncryptionUsesAFreshIv) {
  auto cipher = CredentialsCipher::FromBase64Key(kKeyA).value();
  std::string a = cipher->Encrypt(Creds(), "s").value();
  std::string b = cipher->Encrypt(Creds(), "s").value();
  EXPECT_NE(a, b);
  EXPECT_NE(Base64Decoded(a).substr(0, 12), Base64Decoded(b).substr(0, 12));
  EXPECT_EQ(cipher->Decrypt(b, "s").value(), Creds());
}

TEST(CredentialsCipherTest, AnyChangedByteIsDataLossRevealingNothing) {
  auto cipher = CredentialsCipher::FromBase64Key(kKeyA).value();
  std::string text = cipher->Encrypt(Creds(), "live-1").value();
  std::string raw = Base64Decoded(text);
  // A byte of the IV, of the ciphertext and of the tag.
  for (size_t at : {size_t{3}, size_t{20}, raw.size() - 2}) {
    std::string changed = raw;
    changed[at] ^= 0x01;
    std::string encoded(4 * ((changed.size() + 2) / 3), '\0');
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                    reinterpret_cast<const unsigned char*>(changed.data()),
                    static_cast<int>(changed.size()));
    auto r = cipher->Decrypt(encoded, "live-1");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "byte " << at;
    EXPECT_THAT(r.status().message(), Not(HasSubstr("key-AKIA")));
    EXPECT_THAT(r.status().message(), HasSubstr("cannot be decrypted"));
  }
  for (const std::string& bad : {std::string("not base64!"), std::string(""),
                                 text.substr(0, 20), std::string("AAAA")}) {
    EXPECT_EQ(cipher->Decrypt(bad, "live-1").status().code(), absl::StatusCode::kDataLoss) << bad;
  }
}

TEST(CredentialsCipherTest, AnotherKeyOrAnotherStrategyCannotDecrypt) {
  auto a = CredentialsCipher::FromBase64Key(kKeyA).value();
  auto b = CredentialsCipher::FromBase64Key(kKeyB).value();
  std::string text = a->Encrypt(Creds(), "live-1").value();
  EXPECT_EQ(b->Decrypt(text, "live-1").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(a->Decrypt(text, "live-2").status().code(), absl::StatusCode::kDataLoss);
}

TEST(CredentialsCipherTest, KeyMustBeBase64OfThirtyTwoBytes) {
  for (const char* bad : {"", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", "!!!!", "AAE"}) {
    auto c = CredentialsCipher::FromBase64Key(bad);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("32 random bytes"));
  }
}

TEST(CredentialsCipherTest, KeyFileIsCreatedWithMode0600AndReusedAfterwards) {
  MasterKeyEnv env;
  std::string path = testing::MakeTempDir("cipher") + "/master.key";
  auto first = CredentialsCipher::Load(path);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->key_source(), path);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(st.st_size, 32);

  std::string text = (*first)->Encrypt(Creds(), "s").value();
  auto second = CredentialsCipher::Load(path);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->Decrypt(text, "s").value(), Creds());
  // No temp file is left beside it.
  std::string dir = path.substr(0, path.rfind('/'));
  int entries = 0;
  for (auto it = std::filesystem::directory_iterator(dir); it != std::filesystem::directory_iterator();
       ++it) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(CredentialsCipherTest, ShortKeyFileIsRefusedNamingThePath) {
  MasterKeyEnv env;
  std::string path = testing::MakeTempDir("cipher") + "/short.key";
  std::ofstream(path) << "only-31-bytes-of-key-material!!";
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  auto c = CredentialsCipher::Load(path);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(c.status().message(), HasSubstr(path));
  EXPECT_THAT(c.status().message(), HasSubstr("holds 31 bytes, expected exactly 32"));
}

TEST(CredentialsCipherTest, KeyFileOpenToOthersIsRefusedSayingChmod600) {
  MasterKeyEnv env;
  std::string path = testing::MakeTempDir("cipher") + "/master.key";
  ASSERT_TRUE(CredentialsCipher::Load(path).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    auto c = CredentialsCipher::Load(path);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kPermissionDenied) << mode;
    EXPECT_THAT(c.status().message(), HasSubstr("chmod 600 " + path));
  }
  ASSERT_EQ(chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(CredentialsCipher::Load(path).ok());
}

TEST(CredentialsCipherTest, AMissingKeyFileIsNotCreatedWhenNotAsked) {
  MasterKeyEnv env;
  std::string path = testing::MakeTempDir("cipher") + "/master.key";
  auto c = CredentialsCipher::Load(path, /*create_if_missing=*/false);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(CredentialsCipherTest, MissingFolderIsRefusedNamingIt) {
  MasterKeyEnv env;
  std::string path = testing::MakeTempDir("cipher") + "/no/such/dir/master.key";
  auto c = CredentialsCipher::Load(path);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(c.status().message(), HasSubstr("no/such/dir/master.key"));
}

TEST(CredentialsCipherTest, EnvironmentKeyWinsOverTheFile) {
  MasterKeyEnv env;
  env.Set(kKeyB);
  std::string path = testing::MakeTempDir("cipher") + "/master.key";
  auto c = CredentialsCipher::Load(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->key_source(), "XCTL_MASTER_KEY");
  EXPECT_FALSE(std::filesystem::exists(path));
  // Same key as kKeyB.
  std::string text = (*c)->Encrypt(Creds(), "s").value();
  EXPECT_EQ(CredentialsCipher::FromBase64Key(kKeyB).value()->Decrypt(text, "s").value(), Creds());

  env.Set("c2hvcnQ=");  // "short"
  auto bad = CredentialsCipher::Load(path);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("XCTL_MASTER_KEY: expected the Base64"));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("c2hvcnQ")));
}

TEST(SignalSecretTest, HashIsSaltedSlowAndComparedExactly) {
  std::string stored = HashSignalSecret("tv-secret");
  EXPECT_THAT(stored, ::testing::StartsWith("pbkdf2-sha256:20000:"));
  EXPECT_FALSE(IsLegacySignalSecretHash(stored));
  EXPECT_THAT(stored, Not(HasSubstr("tv-secret")));
  // Salted: the same secret never hashes alike (no precomputed tables, no
  // telling which strategies share a secret).
  EXPECT_NE(HashSignalSecret("tv-secret"), stored);
  EXPECT_TRUE(SignalSecretMatches("tv-secret", stored));
  EXPECT_FALSE(SignalSecretMatches("tv-secreT", stored));
  EXPECT_FALSE(SignalSecretMatches("", stored));
  EXPECT_FALSE(SignalSecretMatches("tv-secret", stored.substr(0, stored.size() - 1)));
  EXPECT_FALSE(SignalSecretMatches("tv-secret", "tv-secret"));
  EXPECT_FALSE(SignalSecretMatches("tv-secret", "pbkdf2-sha256:0:00:00"));
  EXPECT_FALSE(SignalSecretMatches("tv-secret", "pbkdf2-sha256:x:y:z"));
  // A changed salt or digest does not match.
  std::string tampered = stored;
  tampered[std::string("pbkdf2-sha256:20000:").size()] ^= 1;
  EXPECT_FALSE(SignalSecretMatches("tv-secret", tampered));
}

TEST(SignalSecretTest, LegacyUnsaltedSha256HashesStillMatch) {
  // What older xctl stored: the hex SHA-256 of the secret.
  const std::string legacy = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_TRUE(IsLegacySignalSecretHash(legacy));
  EXPECT_TRUE(SignalSecretMatches("abc", legacy));
  EXPECT_FALSE(SignalSecretMatches("abd", legacy));
  EXPECT_FALSE(SignalSecretMatches("abc", legacy.substr(0, 63)));
}

}  // namespace
}  // namespace xctl
