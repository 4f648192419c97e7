// StrategyManager on a real store (SQLite file and PostgreSQL server) with a
// fake exchange control that records every call: lifecycle, credentials
// switching (and that the store never holds them in plain text), restart,
// config upsert, failure isolation, signals, and the price subscriptions.
#include "server/strategy/strategy_manager.h"

#include <openssl/evp.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/strategy/fake_trading.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::xctl::testing::FakeTrading;
using ::xctl::testing::TestDatabase;

constexpr char kKey[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

BlofinCredentials Creds() {
  return {.api_key = Secret("key-AKIA1234"),
          .api_secret = Secret("secret-s3cr3t-value"),
          .passphrase = Secret("pass-phrase-42")};
}

TickPtr T(absl::string_view pair, absl::string_view last) {
  auto t = std::make_shared<Tick>();
  t->pair = std::string(pair);
  t->last = D(last);
  return t;
}

// What the test strategies saw: "<strategy>:<pair>:<last>" per tick.
class TickLog {
 public:
  void Add(const std::string& id, const Tick& t) {
    absl::MutexLock lock(&mu_);
    seen_[id].push_back(absl::StrCat(t.pair, ":", t.last.ToString()));
  }
  std::vector<std::string> Of(const std::string& id) const {
    absl::MutexLock lock(&mu_);
    auto it = seen_.find(id);
    return it == seen_.end() ? std::vector<std::string>() : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> seen_;
};

// Price-driven: records its ticks.
class Recorder : public Strategy {
 public:
  Recorder(TickLog* log, std::string id) : log_(log), id_(std::move(id)) {}
  absl::string_view type() const override { return "recorder"; }
  bool price_driven() const override { return true; }
  void OnTick(const Tick& tick, StrategyContext&) override { log_->Add(id_, tick); }

 private:
  TickLog* log_;
  std::string id_;
};

// Price-driven: throws on every tick (and counts the calls).
class Thrower : public Strategy {
 public:
  explicit Thrower(std::atomic<int>* calls) : calls_(calls) {}
  absl::string_view type() const override { return "thrower"; }
  bool price_driven() const override { return true; }
  void OnTick(const Tick&, StrategyContext&) override {
    ++*calls_;
    throw std::runtime_error("kaboom");
  }

 private:
  std::atomic<int>* calls_;
};

class NoPrices : public PriceSource {
 public:
  absl::string_view name() const override { return "none"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>&) override {
    return std::vector<Tick>();
  }
};

// Sets environment variables for one test, removing them afterwards.
class ScopedEnv {
 public:
  ~ScopedEnv() {
    for (const auto& n : names_) unsetenv(n.c_str());
  }
  void Set(const std::string& name, const std::string& value) {
    setenv(name.c_str(), value.c_str(), 1);
    names_.push_back(name);
  }

 private:
  std::vector<std::string> names_;
};

std::vector<std::string> Ids(const std::vector<StrategyView>& views) {
  std::vector<std::string> out;
  for (const auto& v : views) out.push_back(v.id);
  return out;
}

class StrategyManagerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    auto store = Store::Open({.url = db_->url()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(RegisterBuiltinStrategies(registry_).ok());
    ASSERT_TRUE(registry_
                    .Register("recorder",
                              [this](const StrategyInfo& info, const StrategyParams&)
                                  -> absl::StatusOr<std::unique_ptr<Strategy>> {
                                return std::make_unique<Recorder>(&ticks_, info.id);
                              })
                    .ok());
    ASSERT_TRUE(registry_
                    .Register("thrower",
                              [this](const StrategyInfo&, const StrategyParams&)
                                  -> absl::StatusOr<std::unique_ptr<Strategy>> {
                                return std::make_unique<Thrower>(&thrower_calls_);
                              })
                    .ok());
    cipher_ = CredentialsCipher::FromBase64Key(kKey).value();
    manager_ = NewManager(&trading_);
    ASSERT_TRUE(manager_->Start({}).ok());
  }

  std::unique_ptr<StrategyManager> NewManager(FakeTrading* trading, PriceModule* prices = nullptr) {
    return std::make_unique<StrategyManager>(store_.get(), trading, prices, &registry_,
                                             cipher_.get(), &clock_);
  }

  StrategyView Create(NewStrategy request) {
    auto v = manager_->Create(request);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : StrategyView{};
  }
  // A running tradingview strategy "tv" on BTC-USDT and ETH-USDT with secret "s3".
  void CreateTradingView(bool start = true) {
    Create({.spec = {.id = "tv", .type = "tradingview", .pairs = {"BTC-USDT", "ETH-USDT"}},
            .signal_secret = "s3",
            .start = start});
  }

  StrategyRecord Stored(const std::string& id) {
    StrategyRecord r;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto got = tx.strategies().Get(id);
      if (!got.ok()) return got.status();
      r = *got;
      return absl::OkStatus();
    }).ok());
    return r;
  }

  // Every column of the strategy's row as stored, read with plain SQL (also
  // for deleted rows).
  std::string RawRow(const std::string& id) {
    soci::session s;
    if (absl::StartsWith(db_->url(), "sqlite:")) {
      s.open(soci::sqlite3,
             absl::StrCat("db=\"", absl::StripPrefix(db_->url(), "sqlite:"), "\""));
    } else {
      s.open(soci::postgresql, PostgresConnInfo(db_->url()).value());
    }
    std::string row;
    soci::indicator ind = soci::i_null;
    s << "SELECT id || '|' || name || '|' || type || '|' || pairs || '|' || params || '|' || "
         "CAST(starting_balance AS TEXT) || '|' || CAST(leverage AS TEXT) || '|' || "
         "COALESCE(CAST(taker_fee_rate AS TEXT), '') || '|' || "
         "COALESCE(CAST(maker_fee_rate AS TEXT), '') || '|' || desired_status || '|' || "
         "COALESCE(credentials_ciphertext, '') || '|' || COALESCE(signal_secret_hash, '') || "
         "'|' || CAST(created_at AS TEXT) || '|' || CAST(updated_at AS TEXT) || '|' || "
         "COALESCE(CAST(deleted_at AS TEXT), '') FROM strategies WHERE id = :id",
        soci::into(row, ind), soci::use(id);
    EXPECT_EQ(ind, soci::i_ok) << "no row for " << id;
    return row;
  }
  // Neither the row nor the Base64-decoded ciphertext holds a secret.
  void ExpectNoPlaintextSecrets(const std::string& id) {
    std::string row = RawRow(id);
    std::string decoded;
    if (auto ct = Stored(id).credentials_ciphertext) {
      decoded.resize(ct->size());
      int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                              reinterpret_cast<const unsigned char*>(ct->data()),
                              static_cast<int>(ct->size()));
      ASSERT_GT(n, 28) << "not Base64 of iv|ciphertext|tag";
      decoded.resize(n);
    }
    for (const char* secret : {"key-AKIA1234", "secret-s3cr3t-value", "pass-phrase-42"}) {
      EXPECT_THAT(row, Not(HasSubstr(secret)));
      EXPECT_THAT(decoded, Not(HasSubstr(secret)));
    }
  }

  bool WaitFor(const std::function<bool()>& cond) {
    for (int i = 0; i < 500 && !cond(); ++i) absl::SleepFor(absl::Milliseconds(10));
    return cond();
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  StrategyRegistry registry_;
  TickLog ticks_;
  std::atomic<int> thrower_calls_{0};
  std::unique_ptr<CredentialsCipher> cipher_;
  FakeClock clock_;
  FakeTrading trading_;
  std::unique_ptr<StrategyManager> manager_;
};

// ---- create ------------------------------------------------------------------

TEST_P(StrategyManagerTest, CreateStoresAPaperStrategyStoppedWithDefaults) {
  StrategyView v = Create({.spec = {.id = "sma-1",
                                    .type = "sma_cross",
                                    .pairs = {"BTC-USDT"},
                                    .params = {{"fast", "3"}, {"slow", "5"}}}});
  EXPECT_EQ(v.id, "sma-1");
  EXPECT_EQ(v.name, "sma-1");
  EXPECT_EQ(v.type, "sma_cross");
  EXPECT_EQ(v.mode, TradingMode::kPaper);
  EXPECT_EQ(v.status, StrategyStatus::kStopped);
  EXPECT_EQ(v.status_message, "");
  EXPECT_EQ(v.starting_balance, D("10000"));
  EXPECT_EQ(v.leverage, D("1"));
  EXPECT_EQ(v.taker_fee_rate, std::nullopt);
  EXPECT_FALSE(v.has_credentials);
  EXPECT_FALSE(v.has_signal_secret);
  EXPECT_FALSE(v.desired_running);
  EXPECT_EQ(v.created_at_ms, clock_.NowMillis());

  auto upserts = trading_.upserts_of("sma-1");
  ASSERT_EQ(upserts.size(), 1u);
  EXPECT_EQ(upserts[0].type, "sma_cross");
  EXPECT_THAT(upserts[0].pairs, ElementsAre("BTC-USDT"));
  EXPECT_FALSE(upserts[0].credentials.has_value());
  EXPECT_FALSE(upserts[0].running);
  EXPECT_THAT(trading_.set_running(), ElementsAre(std::pair<std::string, bool>("sma-1", false)));

  StrategyRecord r = Stored("sma-1");
  EXPECT_FALSE(r.running);
  EXPECT_EQ(r.params, (StrategyParams{{"fast", "3"}, {"slow", "5"}}));
  EXPECT_EQ(r.starting_balance, D("10000"));
  EXPECT_FALSE(r.credentials_ciphertext.has_value());
}

TEST_P(StrategyManagerTest, CreateWithStartRunsAndStoresTheDesiredStatus) {
  StrategyView v = Create({.spec = {.id = "ext", .name = "My bot", .type = "external",
                                    .pairs = {"ETH-USDT"}, .starting_balance = D("500"),
                                    // A negative maker rate is a rebate.
                                    .leverage = D("3"), .maker_fee_rate = D("-0.0001")},
                           .start = true});
  EXPECT_EQ(v.status, StrategyStatus::kRunning);
  EXPECT_EQ(v.name, "My bot");
  EXPECT_TRUE(v.desired_running);
  EXPECT_THAT(trading_.set_running(), ElementsAre(std::pair<std::string, bool>("ext", true)));
  StrategyInfo info = trading_.upserts_of("ext").at(0);
  EXPECT_EQ(info.starting_balance, D("500"));
  EXPECT_EQ(info.leverage, D("3"));
  EXPECT_EQ(info.maker_fee_rate, D("-0.0001"));
  EXPECT_EQ(info.taker_fee_rate, std::nullopt);
  EXPECT_TRUE(Stored("ext").running);
}

TEST_P(StrategyManagerTest, CreateWithoutIdGeneratesOne) {
  StrategyView v = Create({.spec = {.type = "sma_cross", .pairs = {"BTC-USDT"}}});
  EXPECT_THAT(v.id, ::testing::MatchesRegex("sma_cross-[0-9a-f]{8}"));
  EXPECT_EQ(v.name, v.id);
  EXPECT_EQ(manager_->Get(v.id)->id, v.id);
  EXPECT_EQ(Stored(v.id).type, "sma_cross");
}

TEST_P(StrategyManagerTest, CreateRefusesBadInputNamingTheFieldAndStoresNothing) {
  struct Case {
    NewStrategy request;
    absl::StatusCode code;
    std::string message;
  };
  StrategySpec ok{.id = "x", .type = "sma_cross", .pairs = {"BTC-USDT"}};
  auto with = [&](auto change) {
    NewStrategy r{.spec = ok};
    change(r);
    return r;
  };
  std::vector<Case> cases = {
      {with([](NewStrategy& r) { r.spec.type = "aibot"; }), absl::StatusCode::kInvalidArgument,
       "type: unknown strategy type \"aibot\"; known types: external, recorder, sma_cross, "
       "thrower, tradingview"},
      {with([](NewStrategy& r) { r.spec.id = "Bad Id"; }), absl::StatusCode::kInvalidArgument,
       "id: invalid strategy id \"Bad Id\""},
      {with([](NewStrategy& r) { r.spec.pairs = {}; }), absl::StatusCode::kInvalidArgument,
       "pairs: at least one BloFin instrument id is required"},
      {with([](NewStrategy& r) { r.spec.pairs = {"btc-usdt"}; }),
       absl::StatusCode::kInvalidArgument, "pairs: invalid symbol \"btc-usdt\""},
      {with([](NewStrategy& r) { r.spec.pairs = {"BTC-USDT", "BTC-USDT"}; }),
       absl::StatusCode::kInvalidArgument, "pairs: BTC-USDT is listed twice"},
      {with([](NewStrategy& r) { r.spec.starting_balance = D("0"); }),
       absl::StatusCode::kInvalidArgument, "starting_balance: must be greater than 0 (USDT), got 0"},
      {with([](NewStrategy& r) { r.spec.leverage = D("-1"); }),
       absl::StatusCode::kInvalidArgument, "leverage: must be greater than 0, got -1"},
      {with([](NewStrategy& r) { r.spec.taker_fee_rate = D("1"); }),
       absl::StatusCode::kInvalidArgument, "taker_fee_rate: must be a fraction from 0 up to 1"},
      {with([](NewStrategy& r) { r.spec.taker_fee_rate = D("-0.0001"); }),
       absl::StatusCode::kInvalidArgument, "taker_fee_rate: must be a fraction from 0 up to 1"},
      {with([](NewStrategy& r) { r.spec.maker_fee_rate = D("-1"); }),
       absl::StatusCode::kInvalidArgument,
       "maker_fee_rate: must be a fraction above -1 (a rebate) up to 1"},
      {with([](NewStrategy& r) { r.spec.params = {{"fast", "30"}}; }),
       absl::StatusCode::kInvalidArgument, "fast (30) must be smaller than slow (20)"},
      {with([](NewStrategy& r) {
         r.credentials = Creds();
         r.credentials->passphrase = Secret("");
       }),
       absl::StatusCode::kInvalidArgument, "credentials.passphrase: is required"},
  };
  for (const Case& c : cases) {
    auto v = manager_->Create(c.request);
    EXPECT_EQ(v.status().code(), c.code) << c.message;
    EXPECT_THAT(v.status().message(), HasSubstr(c.message));
  }
  EXPECT_TRUE(manager_->List({}).empty());
  EXPECT_TRUE(trading_.upserts().empty());
  std::vector<StrategyRecord> stored;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    stored = tx.strategies().List().value();
    return absl::OkStatus();
  }).ok());
  EXPECT_TRUE(stored.empty());
}

TEST_P(StrategyManagerTest, CreateWithATakenIdIsAlreadyExists) {
  Create({.spec = {.id = "x", .type = "external", .pairs = {"BTC-USDT"}}});
  auto again = manager_->Create({.spec = {.id = "x", .type = "external", .pairs = {"ETH-USDT"}}});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("strategy id \"x\" is taken"));
  EXPECT_THAT(manager_->Get("x")->pairs, ElementsAre("BTC-USDT"));
}

// ---- update ------------------------------------------------------------------

TEST_P(StrategyManagerTest, UpdateAppliesTheNamedFieldsOnlyAndStoresThem) {
  Create({.spec = {.id = "sma", .type = "sma_cross", .pairs = {"BTC-USDT"},
                   .params = {{"fast", "3"}}},
          .start = true});
  clock_.Advance(absl::Seconds(5));
  auto v = manager_->Update({.id = "sma",
                             .paths = {"name", "params", "taker_fee_rate"},
                             .values = {.name = "Fast SMA",
                                        .pairs = {"ETH-USDT"},  // not in the mask
                                        .params = {{"fast", "2"}, {"slow", "4"}},
                                        .taker_fee_rate = D("0.0004")}});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->name, "Fast SMA");
  EXPECT_THAT(v->pairs, ElementsAre("BTC-USDT"));
  EXPECT_EQ(v->params, (StrategyParams{{"fast", "2"}, {"slow", "4"}}));
  EXPECT_EQ(v->taker_fee_rate, D("0.0004"));
  EXPECT_EQ(v->status, StrategyStatus::kRunning);
  EXPECT_EQ(v->updated_at_ms, clock_.NowMillis());
  StrategyInfo last = trading_.upserts_of("sma").back();
  EXPECT_EQ(last.taker_fee_rate, D("0.0004"));
  EXPECT_TRUE(last.running);

  StrategyRecord r = Stored("sma");
  EXPECT_EQ(r.name, "Fast SMA");
  EXPECT_EQ(r.params, (StrategyParams{{"fast", "2"}, {"slow", "4"}}));
  EXPECT_EQ(r.taker_fee_rate, D("0.0004"));
  EXPECT_TRUE(r.running);

  // An unset fee rate in the mask returns to the standard rate.
  v = manager_->Update({.id = "sma", .paths = {"taker_fee_rate"}});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->taker_fee_rate, std::nullopt);
  EXPECT_EQ(Stored("sma").taker_fee_rate, std::nullopt);
}

TEST_P(StrategyManagerTest, UpdateRefusesUnknownPathsNothingConflictsAndBadValues) {
  Create({.spec = {.id = "tv", .type = "tradingview", .pairs = {"BTC-USDT"}}});
  auto check = [&](StrategyUpdate u, absl::StatusCode code, absl::string_view message) {
    auto v = manager_->Update(u);
    EXPECT_EQ(v.status().code(), code) << message;
    EXPECT_THAT(v.status().message(), HasSubstr(message));
  };
  check({.id = "tv", .paths = {"type"}}, absl::StatusCode::kInvalidArgument,
        "update_mask: cannot update \"type\"; updatable fields: name, pairs, params, "
        "starting_balance, leverage, taker_fee_rate, maker_fee_rate");
  check({.id = "tv"}, absl::StatusCode::kInvalidArgument, "update_mask: nothing to update");
  check({.id = "tv", .credentials = Creds(), .clear_credentials = true},
        absl::StatusCode::kInvalidArgument, "either credentials or clear_credentials");
  check({.id = "tv", .signal_secret = "a", .clear_signal_secret = true},
        absl::StatusCode::kInvalidArgument, "either signal_secret or clear_signal_secret");
  check({.id = "nope", .paths = {"name"}}, absl::StatusCode::kNotFound,
        "strategy \"nope\" not found");
  check({.id = "tv", .paths = {"pairs"}, .values = {.pairs = {"BTC/USDT"}}},
        absl::StatusCode::kInvalidArgument, "pairs: invalid symbol \"BTC/USDT\"");
  check({.id = "tv", .paths = {"leverage"}}, absl::StatusCode::kInvalidArgument,
        "leverage: named in update_mask but not set");
  check({.id = "tv", .paths = {"params"}, .values = {.params = {{"x", "1"}}}},
        absl::StatusCode::kInvalidArgument, "tradingview has no param \"x\"");
  EXPECT_THAT(Stored("tv").pairs, ElementsAre("BTC-USDT"));
  EXPECT_EQ(trading_.upserts_of("tv").size(), 1u);  // only the create
}

TEST_P(StrategyManagerTest, CredentialsSwitchPaperToLiveToPaperWithoutRestartAndNeverInPlainText) {
  CreateTradingView();
  EXPECT_EQ(manager_->Get("tv")->mode, TradingMode::kPaper);
  EXPECT_THAT(RawRow("tv"), Not(HasSubstr("|s3|")));
  EXPECT_THAT(RawRow("tv"), HasSubstr("|pbkdf2-sha256:"));
  EXPECT_TRUE(SignalSecretMatches("s3", *Stored("tv").signal_secret_hash));

  auto live = manager_->Update({.id = "tv", .credentials = Creds()});
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->mode, TradingMode::kLive);
  EXPECT_TRUE(live->has_credentials);
  EXPECT_EQ(live->status, StrategyStatus::kRunning);
  StrategyInfo upsert = trading_.upserts_of("tv").back();
  ASSERT_TRUE(upsert.credentials.has_value());
  EXPECT_EQ(*upsert.credentials, Creds());
  EXPECT_TRUE(upsert.running);
  ExpectNoPlaintextSecrets("tv");
  StrategyRecord stored = Stored("tv");
  ASSERT_TRUE(stored.credentials_ciphertext.has_value());
  EXPECT_EQ(cipher_->Decrypt(*stored.credentials_ciphertext, "tv").value(), Creds());

  auto paper = manager_->Update({.id = "tv", .clear_credentials = true});
  ASSERT_TRUE(paper.ok()) << paper.status();
  EXPECT_EQ(paper->mode, TradingMode::kPaper);
  EXPECT_FALSE(paper->has_credentials);
  EXPECT_FALSE(trading_.upserts_of("tv").back().credentials.has_value());
  EXPECT_FALSE(Stored("tv").credentials_ciphertext.has_value());
  ExpectNoPlaintextSecrets("tv");
  // Three upserts: create (paper), live, paper.
  auto upserts = trading_.upserts_of("tv");
  ASSERT_EQ(upserts.size(), 3u);
  EXPECT_FALSE(upserts[0].credentials.has_value());
  EXPECT_TRUE(upserts[1].credentials.has_value());
  EXPECT_FALSE(upserts[2].credentials.has_value());
}

TEST_P(StrategyManagerTest, LiveSwitchRefusedByExchangeControlIsRolledBack) {
  CreateTradingView();
  trading_.FailUpserts("tv", absl::UnavailableError("reconciliation failed: BloFin said 152409"),
                       /*only_live=*/true);
  auto v = manager_->Update({.id = "tv", .credentials = Creds()});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(v.status().message(),
            "exchange control refused the strategy: reconciliation failed: BloFin said 152409");
  StrategyView now = manager_->Get("tv").value();
  EXPECT_EQ(now.mode, TradingMode::kPaper);
  EXPECT_EQ(now.status, StrategyStatus::kRunning);
  EXPECT_FALSE(Stored("tv").credentials_ciphertext.has_value());
  // Control got the old (paper, running) strategy back.
  ASSERT_TRUE(trading_.known("tv").has_value());
  EXPECT_FALSE(trading_.known("tv")->credentials.has_value());
  EXPECT_TRUE(trading_.known("tv")->running);
  ExpectNoPlaintextSecrets("tv");
}

TEST_P(StrategyManagerTest, AChangeExchangeControlHalfAppliedIsUndone) {
  CreateTradingView();
  trading_.FailNextSetRunning(absl::InternalError("control lost its state"));
  auto v = manager_->Update({.id = "tv", .credentials = Creds()});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(v.status().message(),
            "exchange control did not set the running status: control lost its state");
  // The live upsert went through, then the old strategy was upserted again.
  auto upserts = trading_.upserts_of("tv");
  ASSERT_EQ(upserts.size(), 3u);
  EXPECT_TRUE(upserts[1].credentials.has_value());
  EXPECT_FALSE(upserts[2].credentials.has_value());
  ASSERT_TRUE(trading_.known("tv").has_value());
  EXPECT_FALSE(trading_.known("tv")->credentials.has_value());
  EXPECT_TRUE(trading_.known("tv")->running);
  StrategyView now = manager_->Get("tv").value();
  EXPECT_EQ(now.mode, TradingMode::kPaper);
  EXPECT_EQ(now.status, StrategyStatus::kRunning);
  EXPECT_FALSE(Stored("tv").credentials_ciphertext.has_value());
}

TEST_P(StrategyManagerTest, SignalSecretCanBeReplacedAndCleared) {
  CreateTradingView();
  ASSERT_TRUE(manager_->Update({.id = "tv", .signal_secret = "new-secret"}).ok());
  EXPECT_TRUE(SignalSecretMatches("new-secret", *Stored("tv").signal_secret_hash));
  auto cleared = manager_->Update({.id = "tv", .clear_signal_secret = true});
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(cleared->has_signal_secret);
  EXPECT_FALSE(Stored("tv").signal_secret_hash.has_value());
  // Without a secret any signal is taken.
  EXPECT_TRUE(manager_
                  ->SubmitSignal({.strategy_id = "tv", .action = "buy", .symbol = "BTC-USDT",
                                  .quantity = "1"})
                  .ok());
}

// ---- delete, list, start, stop ---------------------------------------------------

TEST_P(StrategyManagerTest, DeleteNeedsAStoppedStrategyWithoutExposure) {
  Create({.spec = {.id = "x", .type = "external", .pairs = {"BTC-USDT"}}, .start = true});
  auto s = manager_->Delete("x");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "strategy x is running; stop it first (StopStrategy), then delete it");

  ASSERT_TRUE(manager_->StopStrategy("x").ok());
  trading_.SetExposed("x", true);
  s = manager_->Delete("x");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("strategy x has open positions or resting orders"));
  EXPECT_TRUE(manager_->Get("x").ok());

  trading_.SetExposed("x", false);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(manager_->Delete("x").ok());
  EXPECT_EQ(manager_->Get("x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(manager_->List({}).empty());
  EXPECT_THAT(trading_.removed(), ElementsAre("x"));
  EXPECT_TRUE(absl::EndsWith(RawRow("x"), absl::StrCat("|", clock_.NowMillis())));
  EXPECT_EQ(manager_->Delete("x").code(), absl::StatusCode::kNotFound);
  // The id stays taken.
  EXPECT_EQ(manager_->Create({.spec = {.id = "x", .type = "external", .pairs = {"BTC-USDT"}}})
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_P(StrategyManagerTest, ListFiltersByTypeStatusAndMode) {
  Create({.spec = {.id = "a-sma", .type = "sma_cross", .pairs = {"BTC-USDT"}}, .start = true});
  Create({.spec = {.id = "b-tv", .type = "tradingview", .pairs = {"BTC-USDT"}},
          .credentials = Creds()});
  Create({.spec = {.id = "c-ext", .type = "external", .pairs = {"BTC-USDT"}}});
  EXPECT_THAT(Ids(manager_->List({})), ElementsAre("a-sma", "b-tv", "c-ext"));
  EXPECT_THAT(Ids(manager_->List({.type = "tradingview"})), ElementsAre("b-tv"));
  EXPECT_THAT(Ids(manager_->List({.status = StrategyStatus::kRunning})), ElementsAre("a-sma"));
  EXPECT_THAT(Ids(manager_->List({.status = StrategyStatus::kStopped})),
              ElementsAre("b-tv", "c-ext"));
  EXPECT_THAT(Ids(manager_->List({.mode = TradingMode::kLive})), ElementsAre("b-tv"));
  EXPECT_THAT(Ids(manager_->List({.status = StrategyStatus::kStopped, .mode = TradingMode::kPaper})),
              ElementsAre("c-ext"));
  EXPECT_TRUE(manager_->List({.type = "nope"}).empty());
}

TEST_P(StrategyManagerTest, StoppedStrategyGetsNoTicksAndStartResumes) {
  Create({.spec = {.id = "rec", .type = "recorder", .pairs = {"BTC-USDT"}}, .start = true});
  manager_->DeliverTicks({T("BTC-USDT", "1"), T("ETH-USDT", "50")});
  auto stopped = manager_->StopStrategy("rec");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status, StrategyStatus::kStopped);
  EXPECT_FALSE(stopped->desired_running);
  EXPECT_FALSE(Stored("rec").running);
  EXPECT_EQ(trading_.set_running().back(), (std::pair<std::string, bool>("rec", false)));
  manager_->DeliverTicks({T("BTC-USDT", "2")});
  auto started = manager_->StartStrategy("rec");
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->status, StrategyStatus::kRunning);
  EXPECT_TRUE(Stored("rec").running);
  EXPECT_EQ(trading_.set_running().back(), (std::pair<std::string, bool>("rec", true)));
  manager_->DeliverTicks({T("BTC-USDT", "3")});
  EXPECT_THAT(ticks_.Of("rec"), ElementsAre("BTC-USDT:1", "BTC-USDT:3"));
  // Idempotent start; unknown ids.
  EXPECT_EQ(manager_->StartStrategy("rec")->status, StrategyStatus::kRunning);
  EXPECT_EQ(manager_->StartStrategy("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager_->StopStrategy("nope").status().code(), absl::StatusCode::kNotFound);
}

// ---- restart and config ------------------------------------------------------------

TEST_P(StrategyManagerTest, RestartBringsBackStrategiesModesAndRunningStatus) {
  Create({.spec = {.id = "ext", .type = "external", .pairs = {"BTC-USDT"}}, .start = true});
  Create({.spec = {.id = "sma", .type = "sma_cross", .pairs = {"BTC-USDT"}}, .start = true});
  Create({.spec = {.id = "tv", .type = "tradingview", .pairs = {"BTC-USDT"}},
          .credentials = Creds(),
          .signal_secret = "s3"});
  ASSERT_TRUE(manager_->StopStrategy("sma").ok());
  manager_.reset();

  FakeTrading control;
  auto again = NewManager(&control);
  ASSERT_TRUE(again->Start({}).ok());
  std::vector<StrategyView> all = again->List({});
  ASSERT_THAT(Ids(all), ElementsAre("ext", "sma", "tv"));
  EXPECT_EQ(all[0].status, StrategyStatus::kRunning);
  EXPECT_EQ(all[1].status, StrategyStatus::kStopped);
  EXPECT_EQ(all[2].status, StrategyStatus::kStopped);
  EXPECT_EQ(all[0].mode, TradingMode::kPaper);
  EXPECT_EQ(all[2].mode, TradingMode::kLive);
  EXPECT_TRUE(all[2].has_signal_secret);
  EXPECT_THAT(control.set_running(),
              ElementsAre(std::pair<std::string, bool>("ext", true),
                          std::pair<std::string, bool>("sma", false),
                          std::pair<std::string, bool>("tv", false)));
  ASSERT_TRUE(control.upserts_of("tv").at(0).credentials.has_value());
  EXPECT_EQ(*control.upserts_of("tv").at(0).credentials, Creds());
  EXPECT_FALSE(control.upserts_of("ext").at(0).credentials.has_value());

  ASSERT_TRUE(again->StartStrategy("tv").ok());
  auto denied = again->SubmitSignal(
      {.strategy_id = "tv", .action = "buy", .symbol = "BTC-USDT", .quantity = "1", .secret = "x"});
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(again->SubmitSignal({.strategy_id = "tv", .action = "buy", .symbol = "BTC-USDT",
                                   .quantity = "1", .secret = "s3"})
                  .ok());
  // The secret alone (what a cluster instance checks before forwarding a
  // signal to the owner): the same answers, and nothing else is judged.
  EXPECT_EQ(again->CheckSignalSecret({.strategy_id = "tv", .secret = "x"}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(again->CheckSignalSecret({.strategy_id = "tv", .secret = "s3"}).ok());
  EXPECT_TRUE(again->CheckSignalSecret({.strategy_id = "ext", .secret = "anything"}).ok())
      << "no secret set: nothing to check";
  EXPECT_EQ(again->CheckSignalSecret({.strategy_id = "nope", .secret = "s3"}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(again->Start({}).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(StrategyManagerTest, ConfigStrategiesAreCreatedThenUpdatedKeepingTheStoredStatus) {
  manager_.reset();
  ScopedEnv env;
  env.Set("XCTL_T_KEY", "key-AKIA1234");
  env.Set("XCTL_T_SECRET", "secret-s3cr3t-value");
  env.Set("XCTL_T_PASS", "pass-phrase-42");
  env.Set("XCTL_T_SIG", "tv-signal-secret");
  StrategyConfig c{.id = "cfg",
                   .name = "From config",
                   .type = "tradingview",
                   .pairs = {"BTC-USDT"},
                   .taker_fee_rate = "0.0005",
                   .start = true,
                   .signal_secret_env = "XCTL_T_SIG",
                   .credentials_env = CredentialsEnv{"XCTL_T_KEY", "XCTL_T_SECRET", "XCTL_T_PASS"}};
  {
    FakeTrading control;
    auto m = NewManager(&control);
    ASSERT_TRUE(m->Start({c}).ok());
    StrategyView v = m->Get("cfg").value();
    EXPECT_EQ(v.name, "From config");
    EXPECT_EQ(v.mode, TradingMode::kLive);
    EXPECT_EQ(v.status, StrategyStatus::kRunning);
    EXPECT_EQ(v.taker_fee_rate, D("0.0005"));
    EXPECT_EQ(v.starting_balance, D("10000"));
    EXPECT_TRUE(v.has_signal_secret);
    EXPECT_EQ(*control.upserts_of("cfg").at(0).credentials, Creds());
    EXPECT_TRUE(SignalSecretMatches("tv-signal-secret", *Stored("cfg").signal_secret_hash));
    ExpectNoPlaintextSecrets("cfg");
    EXPECT_THAT(RawRow("cfg"), Not(HasSubstr("tv-signal-secret")));
    ASSERT_TRUE(m->StopStrategy("cfg").ok());
  }
  const std::string ciphertext = Stored("cfg").credentials_ciphertext.value();
  c.name = "Renamed";
  c.pairs = {"BTC-USDT", "ETH-USDT"};
  c.taker_fee_rate.reset();
  {
    FakeTrading control;
    auto m = NewManager(&control);
    ASSERT_TRUE(m->Start({c}).ok());
    StrategyView v = m->Get("cfg").value();
    EXPECT_EQ(v.name, "Renamed");
    EXPECT_THAT(v.pairs, ElementsAre("BTC-USDT", "ETH-USDT"));
    EXPECT_EQ(v.taker_fee_rate, std::nullopt);
    EXPECT_EQ(v.status, StrategyStatus::kStopped);  // stopped through the API: stays so
    EXPECT_EQ(v.mode, TradingMode::kLive);
    // Same credentials: the stored ciphertext is kept, not re-encrypted.
    EXPECT_EQ(Stored("cfg").credentials_ciphertext, ciphertext);
  }
  // A config that cannot be applied changes nothing.
  StrategyConfig missing = c;
  missing.name = "Not applied";
  missing.credentials_env->api_key = "XCTL_T_MISSING";
  {
    FakeTrading control;
    auto m = NewManager(&control);
    absl::Status s = m->Start({missing});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(),
              "config strategy \"cfg\": credentials_env.api_key: environment variable "
              "XCTL_T_MISSING is not set or empty; export it before starting xctld");
    EXPECT_TRUE(control.upserts().empty());
    // Nothing was brought up: Start can be retried with a good config.
    ASSERT_TRUE(m->Start({c}).ok());
    EXPECT_EQ(m->Get("cfg")->name, "Renamed");
  }
  StrategyConfig retyped = c;
  retyped.type = "external";
  {
    FakeTrading control;
    auto m = NewManager(&control);
    absl::Status s = m->Start({retyped});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("a strategy's type cannot change"));
  }
  EXPECT_EQ(Stored("cfg").name, "Renamed");
  EXPECT_EQ(Stored("cfg").type, "tradingview");
}

TEST_P(StrategyManagerTest, ConfigIdOfADeletedStrategyIsRefused) {
  Create({.spec = {.id = "old", .type = "external", .pairs = {"BTC-USDT"}}});
  ASSERT_TRUE(manager_->Delete("old").ok());
  manager_.reset();
  FakeTrading control;
  auto m = NewManager(&control);
  absl::Status s =
      m->Start({{.id = "old", .type = "external", .pairs = {"BTC-USDT"}}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the id belongs to a deleted strategy"));
}

// ---- failure isolation -------------------------------------------------------------

TEST_P(StrategyManagerTest, AStrategyExchangeControlRefusesAtStartIsFailedAndOthersRun) {
  Create({.spec = {.id = "a", .type = "recorder", .pairs = {"BTC-USDT"}}, .start = true});
  Create({.spec = {.id = "b", .type = "recorder", .pairs = {"BTC-USDT"}}, .start = true});
  manager_.reset();
  FakeTrading control;
  control.FailUpserts("a", absl::UnavailableError("BloFin reconciliation failed: timeout"));
  auto m = NewManager(&control);
  ASSERT_TRUE(m->Start({}).ok());
  StrategyView a = m->Get("a").value();
  EXPECT_EQ(a.status, StrategyStatus::kFailed);
  EXPECT_EQ(a.status_message,
            "exchange control refused the strategy: BloFin reconciliation failed: timeout "
            "(tried again in 1s)");
  EXPECT_TRUE(a.desired_running);
  EXPECT_EQ(m->Get("b")->status, StrategyStatus::kRunning);
  m->DeliverTicks({T("BTC-USDT", "7")});
  EXPECT_TRUE(ticks_.Of("a").empty());
  EXPECT_THAT(ticks_.Of("b"), ElementsAre("BTC-USDT:7"));

  EXPECT_EQ(m->StartStrategy("a").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(m->Get("a")->status, StrategyStatus::kFailed);
  control.ClearUpsertErrors();
  EXPECT_EQ(m->StartStrategy("a")->status, StrategyStatus::kRunning);
  EXPECT_EQ(m->Get("a")->status_message, "");
  m->DeliverTicks({T("BTC-USDT", "8")});
  EXPECT_THAT(ticks_.Of("a"), ElementsAre("BTC-USDT:8"));
}

TEST_P(StrategyManagerTest, AStrategyFailedForAPassingCauseIsRetriedWithBackOff) {
  Create({.spec = {.id = "a", .type = "recorder", .pairs = {"BTC-USDT"}}, .start = true});
  manager_.reset();
  FakeTrading control;
  control.FailUpserts("a", absl::UnavailableError("BloFin GET /api/v1/account/balance failed"));
  auto m = NewManager(&control);
  ASSERT_TRUE(m->Start({}).ok());
  ASSERT_EQ(m->Get("a")->status, StrategyStatus::kFailed);
  EXPECT_EQ(m->RetryFailed(), 0);  // its first back-off (1 s) has not run out
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(m->RetryFailed(), 1);  // still unreachable: 2 s now
  EXPECT_THAT(m->Get("a")->status_message, HasSubstr("(tried again in 2s)"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(m->RetryFailed(), 0);
  clock_.Advance(absl::Seconds(1));
  control.ClearUpsertErrors();  // BloFin is back
  EXPECT_EQ(m->RetryFailed(), 1);
  EXPECT_EQ(m->Get("a")->status, StrategyStatus::kRunning);
  m->DeliverTicks({T("BTC-USDT", "9")});
  EXPECT_THAT(ticks_.Of("a"), ElementsAre("BTC-USDT:9"));
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(m->RetryFailed(), 0);  // running: nothing to retry
}

TEST_P(StrategyManagerTest, ADefiniteRefusalOrAStopIsNotRetried) {
  Create({.spec = {.id = "a", .type = "recorder", .pairs = {"BTC-USDT"}}, .start = true});
  Create({.spec = {.id = "b", .type = "recorder", .pairs = {"BTC-USDT"}}, .start = true});
  manager_.reset();
  FakeTrading control;
  control.FailUpserts("a", absl::FailedPreconditionError("hedge mode"));
  control.FailUpserts("b", absl::UnavailableError("unreachable"));
  auto m = NewManager(&control);
  ASSERT_TRUE(m->Start({}).ok());
  ASSERT_TRUE(m->StopStrategy("b").ok());  // stopped by a person: stays stopped
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(m->RetryFailed(), 0);
  EXPECT_EQ(m->Get("a")->status, StrategyStatus::kFailed);
  EXPECT_EQ(m->Get("b")->status, StrategyStatus::kStopped);
}

TEST_P(StrategyManagerTest, UndecryptableCredentialsFailOnlyThatStrategy) {
  Create({.spec = {.id = "live", .type = "external", .pairs = {"BTC-USDT"}},
          .credentials = Creds(), .start = true});
  Create({.spec = {.id = "paper", .type = "external", .pairs = {"BTC-USDT"}}, .start = true});
  manager_.reset();
  auto other_key = CredentialsCipher::FromBase64Key(
                       "VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVU=")
                       .value();
  FakeTrading control;
  StrategyManager m(store_.get(), &control, nullptr, &registry_, other_key.get(), &clock_);
  ASSERT_TRUE(m.Start({}).ok());
  StrategyView live = m.Get("live").value();
  EXPECT_EQ(live.status, StrategyStatus::kFailed);
  EXPECT_THAT(live.status_message, HasSubstr("live: stored credentials cannot be decrypted"));
  EXPECT_EQ(live.status_message.find("key-AKIA"), std::string::npos);
  EXPECT_EQ(m.Get("paper")->status, StrategyStatus::kRunning);
  EXPECT_TRUE(control.upserts_of("live").empty());
}

TEST_P(StrategyManagerTest, StrategyThatThrowsIsFailedAndOthersKeepTheirTicks) {
  Create({.spec = {.id = "boom", .type = "thrower", .pairs = {"BTC-USDT"}}, .start = true});
  Create({.spec = {.id = "rec", .type = "recorder", .pairs = {"BTC-USDT"}}, .start = true});
  manager_->DeliverTicks({T("BTC-USDT", "1")});
  StrategyView boom = manager_->Get("boom").value();
  EXPECT_EQ(boom.status, StrategyStatus::kFailed);
  EXPECT_THAT(boom.status_message, HasSubstr("OnTick threw on BTC-USDT: kaboom"));
  EXPECT_EQ(trading_.set_running().back(), (std::pair<std::string, bool>("boom", false)));
  manager_->DeliverTicks({T("BTC-USDT", "2")});
  EXPECT_EQ(thrower_calls_.load(), 1);
  EXPECT_THAT(ticks_.Of("rec"), ElementsAre("BTC-USDT:1", "BTC-USDT:2"));
  EXPECT_EQ(manager_->Get("rec")->status, StrategyStatus::kRunning);
}

// ---- signals -------------------------------------------------------------------------

TEST_P(StrategyManagerTest, SignalsTradeThroughTheStrategy) {
  CreateTradingView();
  auto buy = manager_->SubmitSignal({.strategy_id = "tv", .action = "Buy", .symbol = "BTC-USDT",
                                     .quantity = "0.5", .secret = "s3",
                                     .client_order_id = "alert-1", .comment = "go long"});
  ASSERT_TRUE(buy.ok()) << buy.status();
  EXPECT_EQ(buy->order.client_order_id, "alert-1");
  EXPECT_EQ(buy->order.quantity, D("0.5"));
  ASSERT_TRUE(manager_
                  ->SubmitSignal({.strategy_id = "tv", .action = "sell", .symbol = "ETH-USDT",
                                  .quantity = "2", .price = "3000.5", .secret = "s3"})
                  .ok());
  ASSERT_TRUE(manager_
                  ->SubmitSignal({.strategy_id = "tv", .action = "close", .symbol = "BTC-USDT",
                                  .secret = "s3"})
                  .ok());
  auto orders = trading_.orders();
  ASSERT_EQ(orders.size(), 2u);
  EXPECT_EQ(orders[0].strategy_id, "tv");
  EXPECT_EQ(orders[0].side, Side::kBuy);
  EXPECT_EQ(orders[0].type, OrderType::kMarket);
  EXPECT_EQ(orders[0].quantity, D("0.5"));
  EXPECT_EQ(orders[0].client_order_id, "alert-1");
  EXPECT_EQ(orders[1].side, Side::kSell);
  EXPECT_EQ(orders[1].type, OrderType::kLimit);
  EXPECT_EQ(orders[1].price, D("3000.5"));
  ASSERT_EQ(trading_.closes().size(), 1u);
  EXPECT_EQ(trading_.closes()[0].strategy_id, "tv");
  EXPECT_EQ(trading_.closes()[0].request.symbol, "BTC-USDT");
  EXPECT_EQ(trading_.closes()[0].request.quantity, std::nullopt);
}

TEST_P(StrategyManagerTest, BadSignalsAreRefusedWithAClearErrorAndTradeNothing) {
  CreateTradingView();
  Create({.spec = {.id = "sma", .type = "sma_cross", .pairs = {"BTC-USDT"}}, .start = true});
  Create({.spec = {.id = "idle", .type = "tradingview", .pairs = {"BTC-USDT"}},
          .signal_secret = "s3"});
  SignalRequest good{.strategy_id = "tv", .action = "buy", .symbol = "BTC-USDT",
                     .quantity = "1", .secret = "s3"};
  auto with = [&](auto change) {
    SignalRequest r = good;
    change(r);
    return r;
  };
  struct Case {
    SignalRequest request;
    absl::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases = {
      {with([](SignalRequest& r) { r.secret = "wrong"; }), absl::StatusCode::kPermissionDenied,
       "signal secret does not match"},
      {with([](SignalRequest& r) { r.secret = ""; }), absl::StatusCode::kPermissionDenied,
       "signal secret does not match"},
      {with([](SignalRequest& r) { r.strategy_id = "nope"; }), absl::StatusCode::kNotFound,
       "strategy \"nope\" not found"},
      {with([](SignalRequest& r) { r.strategy_id = ""; }), absl::StatusCode::kInvalidArgument,
       "strategy_id: is required"},
      {with([](SignalRequest& r) { r.symbol = "BTCUSDT.P"; }), absl::StatusCode::kInvalidArgument,
       "symbol: invalid symbol \"BTCUSDT.P\""},
      {with([](SignalRequest& r) { r.quantity = "-1"; }), absl::StatusCode::kInvalidArgument,
       "quantity: must be greater than 0, got \"-1\""},
      {with([](SignalRequest& r) { r.quantity = "0"; }), absl::StatusCode::kInvalidArgument,
       "quantity: must be greater than 0, got \"0\""},
      {with([](SignalRequest& r) { r.quantity = "lots"; }), absl::StatusCode::kInvalidArgument,
       "quantity: "},
      {with([](SignalRequest& r) { r.price = "cheap"; }), absl::StatusCode::kInvalidArgument,
       "price: "},
      {with([](SignalRequest& r) { r.action = "hodl"; }), absl::StatusCode::kInvalidArgument,
       "action: must be \"buy\", \"sell\" or \"close\", got \"hodl\""},
      {with([](SignalRequest& r) { r.symbol = "SOL-USDT"; }), absl::StatusCode::kInvalidArgument,
       "symbol: SOL-USDT is not one of strategy tv's pairs (BTC-USDT, ETH-USDT)"},
      {with([](SignalRequest& r) { r.strategy_id = "idle"; }),
       absl::StatusCode::kFailedPrecondition,
       "strategy idle is stopped; start it (StartStrategy) to take signals"},
      {with([](SignalRequest& r) { r.strategy_id = "sma"; }), absl::StatusCode::kFailedPrecondition,
       "strategy type sma_cross takes no signals"},
  };
  for (const Case& c : cases) {
    auto r = manager_->SubmitSignal(c.request);
    EXPECT_EQ(r.status().code(), c.code) << c.message;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
  }
  EXPECT_TRUE(trading_.orders().empty());
  EXPECT_TRUE(trading_.closes().empty());
  // The same strategy takes the good signal.
  EXPECT_TRUE(manager_->SubmitSignal(good).ok());
  EXPECT_EQ(trading_.orders().size(), 1u);
}

TEST_P(StrategyManagerTest, StoppedStrategyTakesNoSignals) {
  CreateTradingView();
  ASSERT_TRUE(manager_->StopStrategy("tv").ok());
  auto r = manager_->SubmitSignal({.strategy_id = "tv", .action = "buy", .symbol = "BTC-USDT",
                                   .quantity = "1", .secret = "s3"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "strategy tv is stopped; start it (StartStrategy) to take signals");
  EXPECT_TRUE(trading_.orders().empty());
}

// ---- price subscriptions ---------------------------------------------------------------

TEST_P(StrategyManagerTest, RunningPriceDrivenStrategiesAreSubscribedToTheirPairs) {
  PriceConfig config;
  config.pairs = {"BTC-USDT", "ETH-USDT"};
  PriceModule prices(config, std::make_unique<NoPrices>(), clock_);
  manager_.reset();
  FakeTrading control;
  auto m = NewManager(&control, &prices);
  ASSERT_TRUE(m->Start({}).ok());

  auto unpriced = m->Create(
      {.spec = {.id = "sol", .type = "recorder", .pairs = {"SOL-USDT"}}, .start = true});
  EXPECT_EQ(unpriced.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unpriced.status().message(),
              HasSubstr("pairs: SOL-USDT has no prices on this server; add it to price.pairs"));

  const size_t before = prices.subscriber_count();
  ASSERT_TRUE(m->Create({.spec = {.id = "rec", .type = "recorder", .pairs = {"BTC-USDT"}},
                         .start = true})
                  .ok());
  ASSERT_TRUE(
      m->Create({.spec = {.id = "ext", .type = "external", .pairs = {"BTC-USDT"}}, .start = true})
          .ok());
  EXPECT_EQ(prices.subscriber_count(), before + 1);  // external takes no ticks

  Tick btc{.pair = "BTC-USDT", .last = D("100")}, eth{.pair = "ETH-USDT", .last = D("5")};
  prices.Ingest({btc, eth});
  ASSERT_TRUE(WaitFor([&] { return !ticks_.Of("rec").empty(); }));
  EXPECT_THAT(ticks_.Of("rec"), ElementsAre("BTC-USDT:100"));

  ASSERT_TRUE(m->StopStrategy("rec").ok());
  EXPECT_EQ(prices.subscriber_count(), before);
  btc.last = D("101");
  prices.Ingest({btc});
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(ticks_.Of("rec"), ElementsAre("BTC-USDT:100"));

  ASSERT_TRUE(m->StartStrategy("rec").ok());
  EXPECT_EQ(prices.subscriber_count(), before + 1);
  btc.last = D("102");
  prices.Ingest({btc});
  ASSERT_TRUE(WaitFor([&] { return ticks_.Of("rec").size() == 2; }));
  EXPECT_THAT(ticks_.Of("rec"), ElementsAre("BTC-USDT:100", "BTC-USDT:102"));
  m->Shutdown();
  EXPECT_EQ(prices.subscriber_count(), before);
}

TEST_P(StrategyManagerTest, StoredStrategyOnAPairWithoutPricesIsFailedButKnownToControl) {
  Create({.spec = {.id = "rec", .type = "recorder", .pairs = {"SOL-USDT"}}, .start = true});
  manager_.reset();
  PriceConfig config;
  config.pairs = {"BTC-USDT"};
  PriceModule prices(config, std::make_unique<NoPrices>(), clock_);
  FakeTrading control;
  auto m = NewManager(&control, &prices);
  ASSERT_TRUE(m->Start({}).ok());
  StrategyView v = m->Get("rec").value();
  EXPECT_EQ(v.status, StrategyStatus::kFailed);
  EXPECT_EQ(v.status_message,
            "pairs: SOL-USDT has no prices on this server; add it to price.pairs in the config "
            "(recorder is price-driven)");
  ASSERT_TRUE(control.known("rec").has_value());
  EXPECT_FALSE(control.known("rec")->running);
  EXPECT_TRUE(Stored("rec").running);  // desired status kept for when the pair is back
}

INSTANTIATE_TEST_SUITE_P(Backends, StrategyManagerTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
