// LoadMasterKey (server/strategy/master_key.h) on a real store: a missing key
// is created only while no stored credentials need it; a missing or wrong key
// with stored credentials is a start error naming them and the way out;
// credentials the config sets again do not count; --forget-credentials
// clears them; a key that decrypts some rows but not others is accepted.
#include "server/strategy/master_key.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::TestDatabase;

BlofinCredentials Creds() {
  return {.api_key = Secret("k-1"), .api_secret = Secret("s-1"), .passphrase = Secret("p-1")};
}

class MasterKeyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    unsetenv(kMasterKeyEnv);
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    store_ = Store::Open({.url = db_->url()}).value();
    key_ = testing::MakeTempDir("master-key") + "/xctl.key";
  }

  // A strategy with credentials encrypted by `cipher`.
  void StoreLive(const std::string& id, const CredentialsCipher& cipher) {
    StrategyRecord r{.id = id, .name = id, .type = "external", .pairs = {"BTC-USDT"},
                     .starting_balance = Decimal::FromInt(10000),
                     .credentials_ciphertext = cipher.Encrypt(Creds(), id).value()};
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(r); }).ok());
  }

  std::optional<std::string> Ciphertext(const std::string& id) {
    std::optional<std::string> out;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto r = tx.strategies().Get(id);
      if (!r.ok()) return r.status();
      out = r->credentials_ciphertext;
      return absl::OkStatus();
    }).ok());
    return out;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::string key_;
  FakeClock clock_;
};

TEST_P(MasterKeyTest, WithoutStoredCredentialsAMissingKeyIsCreated0600) {
  auto cipher = LoadMasterKey(*store_, {.key_file = key_}, clock_);
  ASSERT_TRUE(cipher.ok()) << cipher.status();
  ASSERT_NE(*cipher, nullptr);
  struct stat st;
  ASSERT_EQ(stat(key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // A folder that does not exist: no key, but no error either (paper needs none).
  auto none = LoadMasterKey(*store_, {.key_file = key_ + ".d/no/xctl.key"}, clock_);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, nullptr);
}

TEST_P(MasterKeyTest, StoredCredentialsWithoutTheirKeyStopTheStart) {
  auto first = LoadMasterKey(*store_, {.key_file = key_}, clock_).value();
  StoreLive("live-1", *first);
  StoreLive("live-2", *first);
  ASSERT_EQ(std::remove(key_.c_str()), 0);

  auto missing = LoadMasterKey(*store_, {.key_file = key_}, clock_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("the key file " + key_ + " is missing"));
  EXPECT_THAT(missing.status().message(), HasSubstr("strategies live-1, live-2"));
  EXPECT_THAT(missing.status().message(), HasSubstr("--forget-credentials"));
  EXPECT_FALSE(std::filesystem::exists(key_));

  // The config sets live-1's again and live-2's are the only ones left.
  auto still = LoadMasterKey(*store_, {.key_file = key_, .resupplied = {"live-1"}}, clock_);
  EXPECT_THAT(still.status().message(), HasSubstr("strategies live-2 have"));
  auto both = LoadMasterKey(*store_, {.key_file = key_, .resupplied = {"live-1", "live-2"}},
                            clock_);
  EXPECT_TRUE(both.ok()) << both.status();  // nothing stored needs the old key: a new one
  ASSERT_EQ(std::remove(key_.c_str()), 0);

  // Another key: refused.
  { std::ofstream(key_, std::ios::binary) << std::string(32, 'z'); }
  ASSERT_EQ(chmod(key_.c_str(), 0600), 0);
  auto wrong = LoadMasterKey(*store_, {.key_file = key_}, clock_);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong.status().message(),
              HasSubstr("does not decrypt the credentials stored for strategies live-1, live-2"));

  // Given up: cleared, and the start goes on.
  auto forgot = LoadMasterKey(*store_, {.key_file = key_, .forget_credentials = true}, clock_);
  ASSERT_TRUE(forgot.ok()) << forgot.status();
  EXPECT_FALSE(Ciphertext("live-1").has_value());
  EXPECT_FALSE(Ciphertext("live-2").has_value());
}

TEST_P(MasterKeyTest, AKeyThatDecryptsSomeRowsIsTheRightKeyWithDamagedRows) {
  auto key = LoadMasterKey(*store_, {.key_file = key_}, clock_).value();
  StoreLive("good", *key);
  auto other = CredentialsCipher::FromBase64Key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
                   .value();
  StoreLive("damaged", *other);
  auto loaded = LoadMasterKey(*store_, {.key_file = key_}, clock_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_NE(*loaded, nullptr);
}

TEST_P(MasterKeyTest, AKeyFileOpenToOthersIsRefusedEvenWithNothingStored) {
  ASSERT_TRUE(LoadMasterKey(*store_, {.key_file = key_}, clock_).ok());
  ASSERT_EQ(chmod(key_.c_str(), 0640), 0);
  auto refused = LoadMasterKey(*store_, {.key_file = key_}, clock_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), HasSubstr("chmod 600 " + key_));
}

INSTANTIATE_TEST_SUITE_P(Backends, MasterKeyTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
