#include "server/strategy/strategy_manager.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/symbol.h"

namespace xctl {

struct StrategyManager::Entry {
  explicit Entry(StrategyRecord r) : record(std::move(r)) {}

  // Serializes lifecycle operations (Start/Stop/Update/Delete) of this
  // strategy; held across store and exchange-control calls.
  absl::Mutex op_mu;
  // Serializes calls into the instance (ticks, signals) and its replacement.
  absl::Mutex run_mu ABSL_ACQUIRED_AFTER(op_mu);
  std::unique_ptr<Strategy> strategy ABSL_GUARDED_BY(run_mu);

  // Guards the state below; held only briefly, never across a call out.
  mutable absl::Mutex mu ABSL_ACQUIRED_AFTER(run_mu);
  StrategyRecord record ABSL_GUARDED_BY(mu);
  StrategyStatus status ABSL_GUARDED_BY(mu) = StrategyStatus::kStopped;
  std::string message ABSL_GUARDED_BY(mu);
  bool price_driven ABSL_GUARDED_BY(mu) = false;
  bool signal_driven ABSL_GUARDED_BY(mu) = false;
  bool removed ABSL_GUARDED_BY(mu) = false;
  // Cluster mode: this instance holds the strategy's lease (between
  // TakeOwnership and DropOwnership). Always false without an ownership.
  bool owned ABSL_GUARDED_BY(mu) = false;
  // FAILED for a passing cause (exchange unreachable, rate limited): when
  // RetryFailed tries it again, and the delay before that (doubled per try).
  absl::Time retry_at ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  absl::Duration retry_delay ABSL_GUARDED_BY(mu) = absl::ZeroDuration();

  // Declared last so it goes first: its callback uses the members above.
  std::unique_ptr<Subscription> subscription ABSL_GUARDED_BY(op_mu);
};

namespace {

// NOT_FOUND `strategy "x" not found` (STRATEGY_NOT_FOUND).
absl::Status StrategyNotFoundHere(absl::string_view id) {
  return WithReason(absl::NotFoundError(absl::StrCat("strategy ", LogQuote(id), " not found")),
                    reason::kStrategyNotFound);
}

constexpr size_t kMaxNameBytes = 200;
// Back-off of RetryFailed: 1 s, 2 s, 4 s, ... at most 5 minutes.
constexpr absl::Duration kFirstRetryDelay = absl::Seconds(1);
constexpr absl::Duration kMaxRetryDelay = absl::Minutes(5);
// The status message of a strategy another cluster instance runs.
constexpr char kNotOwnedMessage[] =
    "cluster mode: runs on the instance holding its lease, not on this one";
const Decimal kDefaultStartingBalance = Decimal::FromInt(10000);

const std::vector<std::string>& UpdatablePaths() {
  static const auto* paths = new std::vector<std::string>{
      "name", "pairs", "params", "starting_balance", "leverage", "taker_fee_rate",
      "maker_fee_rate"};
  return *paths;
}

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

// Keeps the code, puts `prefix` before the message.
absl::Status Prefixed(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// A maker rate may be negative (a rebate, as BloFin pays on some fee tiers),
// down to -1 exclusive; a taker rate is from 0.
absl::Status CheckFeeRate(const std::optional<Decimal>& rate, absl::string_view field,
                          bool rebate_allowed = false) {
  const bool too_low = rebate_allowed ? rate && *rate <= Decimal::FromInt(-1)
                                      : rate && rate->is_negative();
  if (rate && (too_low || *rate >= Decimal::FromInt(1))) {
    return Invalid(field, absl::StrCat("must be a fraction ",
                                       rebate_allowed ? "above -1 (a rebate) " : "from 0 ",
                                       "up to 1 (0.0006 = 0.06%), got ", rate->ToString()));
  }
  return absl::OkStatus();
}

// The checks every stored strategy passes (the type and params are checked
// by building an instance).
absl::Status ValidateFields(const StrategyRecord& r) {
  if (absl::Status s = ValidateStrategyId(r.id); !s.ok()) return Invalid("id", s.message());
  if (r.name.size() > kMaxNameBytes) {
    return Invalid("name", absl::StrCat("at most ", kMaxNameBytes, " bytes, got ", r.name.size()));
  }
  if (r.pairs.empty()) {
    return Invalid("pairs", "at least one BloFin instrument id is required, such as BTC-USDT");
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& p : r.pairs) {
    if (absl::Status s = ValidateSymbol(p); !s.ok()) return Invalid("pairs", s.message());
    if (!seen.insert(p).second) return Invalid("pairs", absl::StrCat(p, " is listed twice"));
  }
  if (!r.starting_balance.is_positive()) {
    return Invalid("starting_balance", absl::StrCat("must be greater than 0 (USDT), got ",
                                                    r.starting_balance.ToString()));
  }
  if (!r.leverage.is_positive()) {
    return Invalid("leverage",
                   absl::StrCat("must be greater than 0, got ", r.leverage.ToString()));
  }
  XCTL_RETURN_IF_ERROR(CheckFeeRate(r.taker_fee_rate, "taker_fee_rate"));
  XCTL_RETURN_IF_ERROR(CheckFeeRate(r.maker_fee_rate, "maker_fee_rate", /*rebate_allowed=*/true));
  return absl::OkStatus();
}

absl::Status ValidateCredentials(const BlofinCredentials& c) {
  if (c.api_key.empty()) return Invalid("credentials.api_key", "is required");
  if (c.api_secret.empty()) return Invalid("credentials.api_secret", "is required");
  if (c.passphrase.empty()) return Invalid("credentials.passphrase", "is required");
  return absl::OkStatus();
}

std::string GenerateId(absl::string_view type) {
  absl::BitGen gen;
  return absl::StrFormat("%s-%08x", type.substr(0, 40), absl::Uniform<uint32_t>(gen));
}

// True when exchange control or the instance must learn of the change.
bool RuntimeFieldsDiffer(const StrategyRecord& a, const StrategyRecord& b) {
  return a.pairs != b.pairs || a.params != b.params || a.starting_balance != b.starting_balance ||
         a.leverage != b.leverage || a.taker_fee_rate != b.taker_fee_rate ||
         a.maker_fee_rate != b.maker_fee_rate ||
         a.credentials_ciphertext != b.credentials_ciphertext;
}

bool SameStoredFields(const StrategyRecord& a, const StrategyRecord& b) {
  return !RuntimeFieldsDiffer(a, b) && a.name == b.name && a.type == b.type &&
         a.running == b.running && a.signal_secret_hash == b.signal_secret_hash;
}

TradingMode ModeOf(const StrategyRecord& r) {
  return r.credentials_ciphertext ? TradingMode::kLive : TradingMode::kPaper;
}

absl::StatusOr<std::string> RequiredEnv(const std::string& name, absl::string_view field) {
  if (name.empty()) return Invalid(field, "names no environment variable");
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return Invalid(field, absl::StrCat("environment variable ", name,
                                       " is not set or empty; export it before starting xctld"));
  }
  return std::string(value);
}

absl::StatusOr<Decimal> ConfigDecimal(const std::string& text, absl::string_view field) {
  auto value = Decimal::Parse(text);
  if (!value.ok()) return Invalid(field, value.status().message());
  return *value;
}

}  // namespace

absl::string_view ToString(StrategyStatus status) {
  switch (status) {
    case StrategyStatus::kStopped: return "stopped";
    case StrategyStatus::kRunning: return "running";
    case StrategyStatus::kFailed: return "failed";
  }
  return "unknown";
}

StrategyManager::StrategyManager(Store* store, StrategyTrading* trading, PriceModule* prices,
                                 const StrategyRegistry* registry,
                                 const CredentialsCipher* cipher, const Clock* clock)
    : store_(store),
      trading_(trading),
      prices_(prices),
      registry_(registry),
      cipher_(cipher),
      clock_(clock) {}

StrategyManager::~StrategyManager() { Shutdown(); }

void StrategyManager::Shutdown() {
  for (const auto& entry : Snapshot()) {
    absl::MutexLock op(&entry->op_mu);
    entry->subscription.reset();
  }
  lanes_.DrainAll();
}

void StrategyManager::DrainTrading() { lanes_.DrainAll(); }

// ---- lookups and views ------------------------------------------------------

std::shared_ptr<StrategyManager::Entry> StrategyManager::Find(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<StrategyManager::Entry>> StrategyManager::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Entry>> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(entry);
  return out;
}

StrategyView StrategyManager::ViewOf(const Entry& e) const {
  absl::MutexLock lock(&e.mu);
  const StrategyRecord& r = e.record;
  return StrategyView{.id = r.id,
                      .name = r.name,
                      .type = r.type,
                      .pairs = r.pairs,
                      .params = r.params,
                      .starting_balance = r.starting_balance,
                      .leverage = r.leverage,
                      .taker_fee_rate = r.taker_fee_rate,
                      .maker_fee_rate = r.maker_fee_rate,
                      .desired_running = r.running,
                      .mode = ModeOf(r),
                      .status = e.status,
                      .status_message = e.message,
                      .has_credentials = r.credentials_ciphertext.has_value(),
                      .has_signal_secret = r.signal_secret_hash.has_value(),
                      .created_at_ms = r.created_at_ms,
                      .updated_at_ms = r.updated_at_ms};
}

absl::StatusOr<StrategyView> StrategyManager::Get(absl::string_view id) const {
  std::shared_ptr<Entry> e = Find(id);
  if (!e) return StrategyNotFoundHere(id);
  return ViewOf(*e);
}

std::vector<StrategyView> StrategyManager::List(const StrategyFilter& filter) const {
  std::vector<StrategyView> out;
  for (const auto& e : Snapshot()) {
    StrategyView v = ViewOf(*e);
    if (!filter.type.empty() && v.type != filter.type) continue;
    if (filter.status && v.status != *filter.status) continue;
    if (filter.mode && v.mode != *filter.mode) continue;
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(),
            [](const StrategyView& a, const StrategyView& b) { return a.id < b.id; });
  return out;
}

// ---- building and applying ------------------------------------------------

absl::StatusOr<StrategyInfo> StrategyManager::InfoFor(const StrategyRecord& r,
                                                      bool running) const {
  StrategyInfo info{.id = r.id,
                    .type = r.type,
                    .pairs = r.pairs,
                    .running = running,
                    .starting_balance = r.starting_balance,
                    .leverage = r.leverage,
                    .taker_fee_rate = r.taker_fee_rate,
                    .maker_fee_rate = r.maker_fee_rate};
  if (r.credentials_ciphertext) {
    if (cipher_ == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "strategy ", r.id, " has stored credentials but this server has no master key (",
          kMasterKeyEnv, " or the key file)"));
    }
    auto credentials = cipher_->Decrypt(*r.credentials_ciphertext, r.id);
    if (!credentials.ok()) return Prefixed(credentials.status(), absl::StrCat(r.id, ": "));
    info.credentials = *std::move(credentials);
  }
  return info;
}

absl::StatusOr<std::unique_ptr<Strategy>> StrategyManager::BuildInstance(
    const StrategyRecord& r) const {
  // Instances never see the credentials.
  StrategyInfo info{.id = r.id,
                    .type = r.type,
                    .pairs = r.pairs,
                    .starting_balance = r.starting_balance,
                    .leverage = r.leverage,
                    .taker_fee_rate = r.taker_fee_rate,
                    .maker_fee_rate = r.maker_fee_rate};
  return registry_->Create(r.type, info, r.params);
}

namespace {

// A price-driven strategy on a pair the price module does not poll would
// never receive a tick: refuse it rather than let it sit silent.
absl::Status CheckPriced(const PriceModule* prices, const Strategy& strategy,
                         const std::vector<std::string>& pairs) {
  if (prices == nullptr || !strategy.price_driven()) return absl::OkStatus();
  for (const std::string& p : pairs) {
    if (!prices->IsConfigured(p)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pairs: ", p, " has no prices on this server; add it to price.pairs in the config (",
          strategy.type(), " is price-driven)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// Requires e.op_mu.
absl::Status StrategyManager::Apply(Entry& e, const StrategyRecord& record, bool run,
                                    bool* reached_control) {
  e.op_mu.AssertHeld();
  if (reached_control) *reached_control = false;
  XCTL_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> instance, BuildInstance(record));
  if (run) XCTL_RETURN_IF_ERROR(CheckPriced(prices_, *instance, record.pairs));
  XCTL_ASSIGN_OR_RETURN(StrategyInfo info, InfoFor(record, run));
  if (reached_control) *reached_control = true;
  if (absl::Status s = trading_->UpsertStrategy(info); !s.ok()) {
    return Prefixed(s, "exchange control refused the strategy: ");
  }
  if (absl::Status s = trading_->SetRunning(record.id, run); !s.ok()) {
    return Prefixed(s, "exchange control did not set the running status: ");
  }
  const bool price_driven = instance->price_driven();
  const bool signal_driven = instance->signal_driven();
  std::unique_ptr<Subscription> old = std::move(e.subscription);
  {
    absl::MutexLock run_lock(&e.run_mu);
    e.strategy = std::move(instance);
    absl::MutexLock lock(&e.mu);
    e.record = record;
    e.status = run ? StrategyStatus::kRunning : StrategyStatus::kStopped;
    e.message.clear();
    e.retry_at = absl::InfiniteFuture();
    e.retry_delay = absl::ZeroDuration();
    e.price_driven = price_driven;
    e.signal_driven = signal_driven;
  }
  old.reset();  // waits for a callback in progress
  if (run && price_driven && prices_ != nullptr) {
    Entry* entry = &e;  // the subscription is dropped before the entry goes
    e.subscription = prices_->SubscribeCallback(
        record.pairs, [this, entry](const std::vector<TickPtr>& ticks) {
          DispatchTicks(*entry, ticks);
        });
  }
  return absl::OkStatus();
}

void StrategyManager::MarkFailed(Entry& e, absl::string_view reason) {
  std::string id;
  {
    absl::MutexLock lock(&e.mu);
    e.status = StrategyStatus::kFailed;
    e.message = std::string(reason);
    e.retry_at = absl::InfiniteFuture();
    e.retry_delay = absl::ZeroDuration();
    id = e.record.id;
  }
  spdlog::error("event=strategy_failed id={} reason={}", id, LogQuote(reason));
  // Exchange control refuses its trades from now on (it may not know it).
  if (absl::Status s = trading_->SetRunning(id, false); !s.ok() && !absl::IsNotFound(s)) {
    spdlog::warn("event=strategy_stop_not_confirmed id={} error={}", id, LogQuote(s.message()));
  }
}

void StrategyManager::MarkFailedOrRetry(Entry& e, const absl::Status& cause) {
  const bool passing = cause.code() == absl::StatusCode::kUnavailable ||
                       cause.code() == absl::StatusCode::kResourceExhausted;
  if (!passing) return MarkFailed(e, cause.message());
  absl::Duration delay;
  {
    absl::MutexLock lock(&e.mu);
    delay = std::clamp(e.retry_delay * 2, kFirstRetryDelay, kMaxRetryDelay);
  }
  MarkFailed(e, absl::StrCat(cause.message(), " (tried again in ", absl::FormatDuration(delay),
                             ")"));
  absl::MutexLock lock(&e.mu);
  e.retry_delay = delay;
  e.retry_at = clock_->Now() + delay;
}

int StrategyManager::RetryFailed() {
  int tried = 0;
  const absl::Time now = clock_->Now();
  for (const auto& e : Snapshot()) {
    auto due = [&]() {
      absl::MutexLock lock(&e->mu);
      return e->status == StrategyStatus::kFailed && !e->removed && e->record.running &&
             e->retry_at <= now && (ownership_ == nullptr || e->owned);
    };
    if (!due()) continue;
    absl::MutexLock op(&e->op_mu);
    if (!due()) continue;  // changed while op_mu was awaited
    ++tried;
    auto started = StartLocked(*e);
    std::string id;
    {
      absl::MutexLock lock(&e->mu);
      id = e->record.id;
    }
    spdlog::info("event=strategy_retry id={} ok={} error={}", id, started.ok(),
                 LogQuote(started.ok() ? "" : started.status().message()));
  }
  return tried;
}

// ---- ticks ---------------------------------------------------------------

void StrategyManager::DeliverTicks(const std::vector<TickPtr>& ticks) {
  for (const auto& e : Snapshot()) DispatchTicks(*e, ticks);
}

void StrategyManager::DispatchTicks(Entry& e, const std::vector<TickPtr>& ticks) {
  absl::MutexLock run(&e.run_mu);
  std::string id;
  std::vector<TickPtr> mine;
  {
    absl::MutexLock lock(&e.mu);
    if (e.removed || e.status != StrategyStatus::kRunning || !e.price_driven) return;
    id = e.record.id;
    for (const TickPtr& t : ticks) {
      if (std::find(e.record.pairs.begin(), e.record.pairs.end(), t->pair) !=
          e.record.pairs.end()) {
        mine.push_back(t);
      }
    }
  }
  if (mine.empty() || !e.strategy) return;
  StrategyContext context(id, trading_, &lanes_);
  for (const TickPtr& t : mine) {
    if (t->published_steady_us > 0) {
      const int64_t now = SteadyMicros();
      const int64_t latency_us = now - t->published_steady_us;
      tick_latency_.Record(latency_us, now);
      telemetry_->TickToStrategy(absl::Microseconds(latency_us));
    }
    std::optional<std::string> error;
    try {
      e.strategy->OnTick(*t, context);
    } catch (const std::exception& ex) {
      error = ex.what();
    } catch (...) {
      error = "unknown exception";
    }
    if (error) {
      MarkFailed(e, absl::StrCat("OnTick threw on ", t->pair, ": ", *error,
                                 "; fix the strategy or its params, then StartStrategy"));
      return;
    }
  }
}

// ---- start-up -------------------------------------------------------------

absl::StatusOr<StrategyRecord> StrategyManager::RecordFromConfig(
    const StrategyConfig& c, const StrategyRecord* stored) const {
  const int64_t now = clock_->NowMillis();
  StrategyRecord r;
  if (stored != nullptr) {
    r = *stored;
    if (stored->type != c.type) {
      return Invalid("type", absl::StrCat("the config says ", c.type,
                                          " but the stored strategy has type ", stored->type,
                                          "; a strategy's type cannot change: use a new id, or "
                                          "delete the stored strategy first"));
    }
  } else {
    r.id = c.id;
    r.type = c.type;
    r.running = c.start;
    r.created_at_ms = now;
  }
  r.name = c.name.empty() ? c.id : c.name;
  r.pairs = c.pairs;
  r.params = c.params;
  XCTL_ASSIGN_OR_RETURN(r.starting_balance, ConfigDecimal(c.starting_balance, "starting_balance"));
  XCTL_ASSIGN_OR_RETURN(r.leverage, ConfigDecimal(c.leverage, "leverage"));
  r.taker_fee_rate.reset();
  r.maker_fee_rate.reset();
  if (c.taker_fee_rate) {
    XCTL_ASSIGN_OR_RETURN(r.taker_fee_rate, ConfigDecimal(*c.taker_fee_rate, "taker_fee_rate"));
  }
  if (c.maker_fee_rate) {
    XCTL_ASSIGN_OR_RETURN(r.maker_fee_rate, ConfigDecimal(*c.maker_fee_rate, "maker_fee_rate"));
  }
  XCTL_RETURN_IF_ERROR(ValidateFields(r));
  XCTL_RETURN_IF_ERROR(BuildInstance(r).status());

  if (c.credentials_env) {
    BlofinCredentials creds;
    XCTL_ASSIGN_OR_RETURN(std::string key,
                          RequiredEnv(c.credentials_env->api_key, "credentials_env.api_key"));
    XCTL_ASSIGN_OR_RETURN(std::string secret, RequiredEnv(c.credentials_env->api_secret,
                                                          "credentials_env.api_secret"));
    XCTL_ASSIGN_OR_RETURN(std::string pass, RequiredEnv(c.credentials_env->passphrase,
                                                        "credentials_env.passphrase"));
    creds = {.api_key = Secret(std::move(key)),
             .api_secret = Secret(std::move(secret)),
             .passphrase = Secret(std::move(pass))};
    if (cipher_ == nullptr) {
      return Invalid("credentials_env", absl::StrCat("storing credentials needs a master key (",
                                                     kMasterKeyEnv, " or the key file)"));
    }
    bool same = false;
    if (r.credentials_ciphertext) {
      auto current = cipher_->Decrypt(*r.credentials_ciphertext, r.id);
      same = current.ok() && *current == creds;
    }
    if (!same) {
      XCTL_ASSIGN_OR_RETURN(r.credentials_ciphertext, cipher_->Encrypt(creds, r.id));
    }
  }
  if (!c.signal_secret_env.empty()) {
    XCTL_ASSIGN_OR_RETURN(std::string secret,
                          RequiredEnv(c.signal_secret_env, "signal_secret_env"));
    // The same secret keeps its stored hash (a fresh salt would make every
    // start an update), unless that hash is of the legacy unsalted form.
    if (!r.signal_secret_hash || IsLegacySignalSecretHash(*r.signal_secret_hash) ||
        !SignalSecretMatches(secret, *r.signal_secret_hash)) {
      r.signal_secret_hash = HashSignalSecret(secret);
    }
  }
  if (stored == nullptr || !SameStoredFields(*stored, r)) r.updated_at_ms = now;
  return r;
}

absl::Status StrategyManager::Start(const std::vector<StrategyConfig>& from_config) {
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("the strategy manager is started already");
    started_ = true;
  }
  absl::StatusOr<std::map<std::string, StrategyRecord>> records = LoadAndUpsert(from_config);
  if (!records.ok() && ownership_ != nullptr) {
    // Cluster mode: another instance starting with the same config may have
    // inserted the same strategies between our read and our write.
    records = LoadAndUpsert(from_config);
  }
  if (!records.ok()) {
    absl::MutexLock lock(&mu_);
    started_ = false;  // nothing was brought up: Start may be called again
    return records.status();
  }
  BringUp(*records);
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, StrategyRecord>> StrategyManager::LoadAndUpsert(
    const std::vector<StrategyConfig>& from_config) {
  std::map<std::string, StrategyRecord> records;
  XCTL_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(std::vector<StrategyRecord> list, tx.strategies().List());
    for (auto& r : list) records.emplace(r.id, std::move(r));
    return absl::OkStatus();
  }));

  // Every config strategy is checked before anything is written.
  std::vector<StrategyRecord> inserts, updates;
  absl::flat_hash_set<std::string> config_ids;
  for (const StrategyConfig& c : from_config) {
    const std::string where = absl::StrCat("config strategy ", LogQuote(c.id), ": ");
    if (!config_ids.insert(c.id).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, "the id is used twice"));
    }
    auto it = records.find(c.id);
    auto r = RecordFromConfig(c, it == records.end() ? nullptr : &it->second);
    if (!r.ok()) return Prefixed(r.status(), where);
    if (it == records.end()) {
      inserts.push_back(*r);
    } else if (!SameStoredFields(it->second, *r)) {
      updates.push_back(*r);
    }
  }
  XCTL_RETURN_IF_ERROR(store_->Transact([&](Tx& tx) -> absl::Status {
    for (const StrategyRecord& r : inserts) {
      absl::Status s = tx.strategies().Insert(r);
      if (absl::IsAlreadyExists(s)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "config strategy ", LogQuote(r.id),
            ": the id belongs to a deleted strategy (ids are never reused); choose another id"));
      }
      XCTL_RETURN_IF_ERROR(s);
    }
    for (const StrategyRecord& r : updates) XCTL_RETURN_IF_ERROR(tx.strategies().Update(r));
    return absl::OkStatus();
  }));
  for (const StrategyRecord& r : inserts) {
    spdlog::info("event=strategy_created id={} type={} mode={} source=config", r.id, r.type,
                 ToString(ModeOf(r)));
    records[r.id] = r;
  }
  for (const StrategyRecord& r : updates) {
    spdlog::info("event=strategy_updated id={} source=config mode={}", r.id, ToString(ModeOf(r)));
    records[r.id] = r;
  }
  return records;
}

void StrategyManager::BringUp(const std::map<std::string, StrategyRecord>& records) {
  if (ownership_ != nullptr) {
    // Cluster mode: known here, run only once this instance takes the lease.
    absl::MutexLock lock(&mu_);
    for (const auto& [id, record] : records) {
      auto e = std::make_shared<Entry>(record);
      {
        absl::MutexLock entry_lock(&e->mu);
        e->message = kNotOwnedMessage;
      }
      entries_[id] = std::move(e);
    }
    spdlog::info("event=strategy_manager_started strategies={} cluster=true", records.size());
    return;
  }
  int running = 0, failed = 0;
  for (const auto& [id, record] : records) {
    auto e = std::make_shared<Entry>(record);
    absl::MutexLock op(&e->op_mu);
    {
      absl::MutexLock lock(&mu_);
      entries_[id] = e;
    }
    bool reached_control = false;
    if (absl::Status s = Apply(*e, record, record.running, &reached_control); !s.ok()) {
      MarkFailedOrRetry(*e, s);
      e->subscription.reset();
      ++failed;
      // Its instance could not be made (type, params, unpriced pair): exchange
      // control still holds it, stopped, so its positions and KPIs show.
      if (!reached_control) {
        if (auto info = InfoFor(record, false); info.ok()) {
          absl::Status registered = trading_->UpsertStrategy(*info);
          if (!registered.ok()) {
            spdlog::warn("event=strategy_not_registered id={} error={}", id,
                         LogQuote(registered.message()));
          }
        }
      }
      continue;
    }
    if (record.running) ++running;
  }
  spdlog::info("event=strategy_manager_started strategies={} running={} failed={}",
               records.size(), running, failed);
}

// ---- lifecycle -------------------------------------------------------------

absl::StatusOr<StrategyView> StrategyManager::Create(const NewStrategy& request) {
  const StrategySpec& spec = request.spec;
  if (absl::Status s = registry_->CheckType(spec.type); !s.ok()) {
    return Invalid("type", s.message());
  }
  if (request.credentials) XCTL_RETURN_IF_ERROR(ValidateCredentials(*request.credentials));
  if (request.credentials && cipher_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this server has no master key for credentials (", kMasterKeyEnv, " or the key file)"));
  }
  const bool generated = spec.id.empty();
  const int64_t now = clock_->NowMillis();
  StrategyRecord r{.id = generated ? GenerateId(spec.type) : spec.id,
                   .type = spec.type,
                   .pairs = spec.pairs,
                   .params = spec.params,
                   .starting_balance = spec.starting_balance.value_or(kDefaultStartingBalance),
                   .leverage = spec.leverage.value_or(Decimal::FromInt(1)),
                   .taker_fee_rate = spec.taker_fee_rate,
                   .maker_fee_rate = spec.maker_fee_rate,
                   .running = request.start,
                   .created_at_ms = now,
                   .updated_at_ms = now};
  r.name = spec.name.empty() ? r.id : spec.name;
  XCTL_RETURN_IF_ERROR(ValidateFields(r));
  XCTL_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> probe, BuildInstance(r));
  XCTL_RETURN_IF_ERROR(CheckPriced(prices_, *probe, r.pairs));
  if (!request.signal_secret.empty()) r.signal_secret_hash = HashSignalSecret(request.signal_secret);

  // A generated id that happens to be taken is drawn again.
  absl::Status inserted;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) {
      r.id = GenerateId(spec.type);
      if (spec.name.empty()) r.name = r.id;
    }
    if (request.credentials) {
      XCTL_ASSIGN_OR_RETURN(r.credentials_ciphertext, cipher_->Encrypt(*request.credentials, r.id));
    }
    inserted = store_->Transact([&](Tx& tx) { return tx.strategies().Insert(r); });
    if (!(generated && absl::IsAlreadyExists(inserted))) break;
  }
  if (absl::IsAlreadyExists(inserted)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "strategy id ", LogQuote(r.id),
        " is taken (the ids of deleted strategies stay taken); choose another id"));
  }
  XCTL_RETURN_IF_ERROR(inserted);

  auto e = std::make_shared<Entry>(r);
  if (ownership_ != nullptr) {
    // Cluster mode: it runs where its lease is taken (maybe here, soon).
    {
      absl::MutexLock entry_lock(&e->mu);
      e->message = kNotOwnedMessage;
    }
    {
      absl::MutexLock lock(&mu_);
      entries_.try_emplace(r.id, e);
    }
    ownership_->Nominate(r.id);
    spdlog::info("event=strategy_created id={} type={} mode={} pairs={} source=api cluster=true",
                 r.id, r.type, ToString(ModeOf(r)), absl::StrJoin(r.pairs, ","));
    {
      // The creating instance usually takes it at once (Nominate wakes its
      // placement round): wait briefly so the answer shows it running here.
      // When another instance takes it, the view says where it runs.
      absl::MutexLock lock(&e->mu);
      auto owned = [&e]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(e->mu) {
        if (e->removed) return true;
        if (!e->owned) return false;
        return !e->record.running || e->status != StrategyStatus::kStopped;
      };
      e->mu.AwaitWithTimeout(absl::Condition(&owned), absl::Seconds(1));
    }
    return ViewOf(*e);
  }
  absl::MutexLock op(&e->op_mu);
  {
    absl::MutexLock lock(&mu_);
    entries_[r.id] = e;
  }
  absl::Status applied = Apply(*e, r, r.running);
  if (!applied.ok()) {
    MarkFailed(*e, applied.message());
    e->subscription.reset();
  }
  spdlog::info("event=strategy_created id={} type={} mode={} pairs={} status={} source=api", r.id,
               r.type, ToString(ModeOf(r)), absl::StrJoin(r.pairs, ","),
               applied.ok() ? (r.running ? "running" : "stopped") : "failed");
  return ViewOf(*e);
}

absl::StatusOr<StrategyView> StrategyManager::Update(const StrategyUpdate& u) {
  const auto& known = UpdatablePaths();
  for (const std::string& p : u.paths) {
    if (std::find(known.begin(), known.end(), p) == known.end()) {
      return Invalid("update_mask", absl::StrCat("cannot update ", LogQuote(p),
                                                 "; updatable fields: ", absl::StrJoin(known, ", ")));
    }
  }
  if (u.credentials && u.clear_credentials) {
    return Invalid("credentials", "give either credentials or clear_credentials, not both");
  }
  if (!u.signal_secret.empty() && u.clear_signal_secret) {
    return Invalid("signal_secret", "give either signal_secret or clear_signal_secret, not both");
  }
  if (u.paths.empty() && !u.credentials && !u.clear_credentials && u.signal_secret.empty() &&
      !u.clear_signal_secret) {
    return Invalid("update_mask", absl::StrCat("nothing to update: name fields in update_mask (",
                                               absl::StrJoin(known, ", "),
                                               ") or give a credentials or signal secret change"));
  }
  if (u.credentials) XCTL_RETURN_IF_ERROR(ValidateCredentials(*u.credentials));
  if (u.credentials && cipher_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this server has no master key for credentials (", kMasterKeyEnv, " or the key file)"));
  }

  std::shared_ptr<Entry> e = Find(u.id);
  if (!e) return StrategyNotFoundHere(u.id);
  absl::MutexLock op(&e->op_mu);
  XCTL_RETURN_IF_ERROR(CheckOwned(*e));
  StrategyRecord old;
  StrategyStatus old_status;
  std::string old_message;
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed) return StrategyNotFoundHere(u.id);
    old = e->record;
    old_status = e->status;
    old_message = e->message;
  }

  StrategyRecord next = old;
  for (const std::string& p : u.paths) {
    const StrategySpec& v = u.values;
    if (p == "name") {
      next.name = v.name.empty() ? next.id : v.name;
    } else if (p == "pairs") {
      next.pairs = v.pairs;
    } else if (p == "params") {
      next.params = v.params;
    } else if (p == "starting_balance") {
      if (!v.starting_balance) return Invalid(p, "named in update_mask but not set");
      next.starting_balance = *v.starting_balance;
    } else if (p == "leverage") {
      if (!v.leverage) return Invalid(p, "named in update_mask but not set");
      next.leverage = *v.leverage;
    } else if (p == "taker_fee_rate") {
      next.taker_fee_rate = v.taker_fee_rate;
    } else if (p == "maker_fee_rate") {
      next.maker_fee_rate = v.maker_fee_rate;
    }
  }
  if (u.credentials) {
    XCTL_ASSIGN_OR_RETURN(next.credentials_ciphertext, cipher_->Encrypt(*u.credentials, next.id));
  } else if (u.clear_credentials) {
    next.credentials_ciphertext.reset();
  }
  if (!u.signal_secret.empty()) {
    next.signal_secret_hash = HashSignalSecret(u.signal_secret);
  } else if (u.clear_signal_secret) {
    next.signal_secret_hash.reset();
  }
  XCTL_RETURN_IF_ERROR(ValidateFields(next));
  XCTL_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> probe, BuildInstance(next));
  XCTL_RETURN_IF_ERROR(CheckPriced(prices_, *probe, next.pairs));
  next.updated_at_ms = clock_->NowMillis();

  // Puts exchange control and the entry back as they were.
  auto revert = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(e->op_mu) {
    if (absl::Status s = Apply(*e, old, old_status == StrategyStatus::kRunning); !s.ok()) {
      MarkFailed(*e, absl::StrCat("could not restore the strategy after a failed update: ",
                                  s.message()));
      e->subscription.reset();
      return;
    }
    if (old_status == StrategyStatus::kFailed) {
      absl::MutexLock lock(&e->mu);
      e->status = old_status;
      e->message = old_message;
    }
  };

  const bool runtime_change = RuntimeFieldsDiffer(old, next);
  if (runtime_change) {
    // A strategy that should run is re-applied running (a FAILED one is
    // retried), with a fresh instance.
    if (absl::Status s = Apply(*e, next, next.running); !s.ok()) {
      revert();
      return s;
    }
  }
  if (absl::Status s = store_->Transact([&](Tx& tx) { return tx.strategies().Update(next); });
      !s.ok()) {
    if (runtime_change) revert();
    return s;
  }
  if (!runtime_change) {
    absl::MutexLock lock(&e->mu);
    e->record = next;
  }
  spdlog::info("event=strategy_updated id={} fields={} credentials={} signal_secret={} mode={}",
               next.id, absl::StrJoin(u.paths, ","),
               u.credentials ? "set" : (u.clear_credentials ? "cleared" : "unchanged"),
               !u.signal_secret.empty() ? "set"
                                        : (u.clear_signal_secret ? "cleared" : "unchanged"),
               ToString(ModeOf(next)));
  if (ModeOf(old) != ModeOf(next)) {
    spdlog::info("event=strategy_mode_changed id={} from={} to={}", next.id,
                 ToString(ModeOf(old)), ToString(ModeOf(next)));
  }
  return ViewOf(*e);
}

absl::Status StrategyManager::CheckNoExposure(absl::string_view id) {
  auto exposure = trading_->HasOpenExposure(id);
  if (absl::IsNotFound(exposure.status())) {
    // Exchange control never took the strategy (it FAILED): ask the store.
    bool open = false;
    XCTL_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(auto positions, tx.positions().ListOpen(id));
      XCTL_ASSIGN_OR_RETURN(auto orders, tx.orders().ListResting(id));
      open = !positions.empty() || !orders.empty();
      return absl::OkStatus();
    }));
    exposure = open;
  }
  if (!exposure.ok()) return exposure.status();
  if (*exposure) {
    return absl::FailedPreconditionError(absl::StrCat(
        "strategy ", id,
        " has open positions or resting orders; close the positions and cancel the orders "
        "first (ExchangeControl.ClosePosition, CancelOrder)"));
  }
  return absl::OkStatus();
}

absl::Status StrategyManager::Delete(absl::string_view id) {
  std::shared_ptr<Entry> e = Find(id);
  if (!e) return StrategyNotFoundHere(id);
  absl::MutexLock op(&e->op_mu);
  XCTL_RETURN_IF_ERROR(CheckOwned(*e));
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed) return StrategyNotFoundHere(id);
    if (e->status == StrategyStatus::kRunning) {
      return absl::FailedPreconditionError(absl::StrCat(
          "strategy ", id, " is running; stop it first (StopStrategy), then delete it"));
    }
  }
  XCTL_RETURN_IF_ERROR(CheckNoExposure(id));
  const int64_t now = clock_->NowMillis();
  XCTL_RETURN_IF_ERROR(
      store_->Transact([&](Tx& tx) { return tx.strategies().SoftDelete(id, now); }));
  e->subscription.reset();
  {
    absl::MutexLock run(&e->run_mu);
    e->strategy.reset();
    absl::MutexLock lock(&e->mu);
    e->removed = true;
  }
  {
    absl::MutexLock lock(&mu_);
    entries_.erase(id);
  }
  if (absl::Status s = trading_->RemoveStrategy(id); !s.ok() && !absl::IsNotFound(s)) {
    spdlog::warn("event=strategy_remove_not_confirmed id={} error={}", id, LogQuote(s.message()));
  }
  spdlog::info("event=strategy_deleted id={}", id);
  return absl::OkStatus();
}

absl::StatusOr<StrategyView> StrategyManager::StartStrategy(absl::string_view id) {
  std::shared_ptr<Entry> e = Find(id);
  if (!e) return StrategyNotFoundHere(id);
  absl::MutexLock op(&e->op_mu);
  XCTL_RETURN_IF_ERROR(CheckOwned(*e));
  return StartLocked(*e);
}

// Requires e.op_mu.
absl::StatusOr<StrategyView> StrategyManager::StartLocked(Entry& e) {
  e.op_mu.AssertHeld();
  StrategyRecord old;
  bool running = false;
  {
    absl::MutexLock lock(&e.mu);
    if (e.removed) {
      return StrategyNotFoundHere(e.record.id);
    }
    running = e.status == StrategyStatus::kRunning;
    old = e.record;
  }
  if (running) return ViewOf(e);
  StrategyRecord next = old;
  next.running = true;
  if (!old.running) next.updated_at_ms = clock_->NowMillis();
  if (absl::Status s = Apply(e, next, true); !s.ok()) {
    MarkFailedOrRetry(e, s);
    e.subscription.reset();
    return s;
  }
  if (!old.running) {
    if (absl::Status s = store_->Transact([&](Tx& tx) { return tx.strategies().Update(next); });
        !s.ok()) {
      // Not stored as running: do not leave it running.
      if (absl::Status back = Apply(e, old, false); !back.ok()) {
        MarkFailed(e, back.message());
        e.subscription.reset();
      }
      return s;
    }
  }
  spdlog::info("event=strategy_started id={} type={} mode={}", next.id, next.type,
               ToString(ModeOf(next)));
  return ViewOf(e);
}

absl::StatusOr<StrategyView> StrategyManager::StopStrategy(absl::string_view id) {
  std::shared_ptr<Entry> e = Find(id);
  if (!e) return StrategyNotFoundHere(id);
  absl::MutexLock op(&e->op_mu);
  XCTL_RETURN_IF_ERROR(CheckOwned(*e));
  StrategyRecord next;
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed) return StrategyNotFoundHere(id);
    next = e->record;
  }
  if (next.running) {
    next.running = false;
    next.updated_at_ms = clock_->NowMillis();
    XCTL_RETURN_IF_ERROR(store_->Transact([&](Tx& tx) { return tx.strategies().Update(next); }));
  }
  {
    // Waits for a tick or signal in progress: none follows once this returns.
    absl::MutexLock run(&e->run_mu);
    absl::MutexLock lock(&e->mu);
    e->record = next;
    e->status = StrategyStatus::kStopped;
    e->message.clear();
  }
  e->subscription.reset();
  lanes_.Drain(id);  // orders it decided before the stop are done (or refused)
  spdlog::info("event=strategy_stopped id={}", id);
  if (absl::Status s = trading_->SetRunning(id, false); !s.ok() && !absl::IsNotFound(s)) {
    return Prefixed(s, absl::StrCat("strategy ", id,
                                    " is stopped here but exchange control did not confirm: "));
  }
  return ViewOf(*e);
}

// ---- cluster mode: ownership ------------------------------------------------

void StrategyManager::SetOwnership(StrategyOwnership* ownership) { ownership_ = ownership; }

absl::Status StrategyManager::CheckOwned(Entry& e) {
  if (ownership_ == nullptr) return absl::OkStatus();
  std::string id;
  bool owned;
  {
    absl::MutexLock lock(&e.mu);
    id = e.record.id;
    owned = e.owned;
  }
  // Owned: the lease may still have passed its local deadline (the loss is
  // being reported); not owned: the answer names the owner.
  absl::Status s = ownership_->CheckOwner(id);
  if (!s.ok() || owned) return s;
  return absl::UnavailableError(absl::StrCat(
      "strategy ", id, " is being taken over by this instance; retry in a moment"));
}

absl::Status StrategyManager::TakeOwnership(absl::string_view id_view) {
  const std::string id(id_view);
  absl::StatusOr<StrategyRecord> record = absl::InternalError("not read");
  absl::Status read = store_->Read([&](Tx& tx) -> absl::Status {
    record = tx.strategies().Get(id);
    return record.ok() || absl::IsNotFound(record.status()) ? absl::OkStatus() : record.status();
  });
  if (!read.ok()) return read;
  if (!record.ok()) {
    // Deleted meanwhile: nothing to run; forget it.
    std::shared_ptr<Entry> gone = Find(id);
    if (gone) {
      absl::MutexLock op(&gone->op_mu);
      gone->subscription.reset();
      absl::MutexLock lock(&gone->mu);
      gone->removed = true;
    }
    absl::MutexLock lock(&mu_);
    entries_.erase(id);
    return absl::OkStatus();
  }
  std::shared_ptr<Entry> e;
  {
    absl::MutexLock lock(&mu_);
    auto [it, fresh] = entries_.try_emplace(id, nullptr);
    if (fresh) it->second = std::make_shared<Entry>(*record);
    e = it->second;
  }
  absl::MutexLock op(&e->op_mu);
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed) return absl::OkStatus();
    if (e->owned) return absl::OkStatus();
    e->owned = true;  // first: RefreshFromStore no longer overwrites the record
  }
  bool reached_control = false;
  if (absl::Status s = Apply(*e, *record, record->running, &reached_control); !s.ok()) {
    MarkFailed(*e, s.message());
    e->subscription.reset();
    if (!reached_control) {
      if (auto info = InfoFor(*record, false); info.ok()) {
        (void)trading_->UpsertStrategy(*info);  // its positions and KPIs show
      }
    }
  }
  spdlog::info("event=strategy_owned id={} running={}", id, record->running);
  return absl::OkStatus();
}

void StrategyManager::DropOwnership(absl::string_view id_view, absl::string_view reason) {
  const std::string id(id_view);
  std::shared_ptr<Entry> e = Find(id);
  if (!e) return;
  absl::MutexLock op(&e->op_mu);
  {
    absl::MutexLock lock(&e->mu);
    if (!e->owned) return;
  }
  e->subscription.reset();
  {
    // Waits for a tick or signal in progress: none follows once this returns.
    absl::MutexLock run(&e->run_mu);
    e->strategy.reset();
    absl::MutexLock lock(&e->mu);
    e->owned = false;
    e->status = StrategyStatus::kStopped;
    e->message = kNotOwnedMessage;
  }
  lanes_.Drain(id);  // queued trades are done, or refused by the trade gate
  if (absl::Status s = trading_->RemoveStrategy(id); !s.ok() && !absl::IsNotFound(s)) {
    spdlog::warn("event=strategy_remove_not_confirmed id={} error={}", id, LogQuote(s.message()));
  }
  spdlog::info("event=strategy_not_owned id={} reason={}", id, reason);
}

absl::StatusOr<std::vector<std::string>> StrategyManager::RefreshFromStore() {
  std::vector<StrategyRecord> list;
  XCTL_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(list, tx.strategies().List());
    return absl::OkStatus();
  }));
  std::vector<std::string> ids;
  absl::flat_hash_set<std::string> stored;
  for (StrategyRecord& r : list) {
    ids.push_back(r.id);
    stored.insert(r.id);
    std::shared_ptr<Entry> e;
    {
      absl::MutexLock lock(&mu_);
      auto [it, fresh] = entries_.try_emplace(r.id, nullptr);
      if (fresh) {
        it->second = std::make_shared<Entry>(r);
        absl::MutexLock entry_lock(&it->second->mu);
        it->second->message = kNotOwnedMessage;
        continue;
      }
      e = it->second;
    }
    absl::MutexLock entry_lock(&e->mu);
    if (!e->owned && !e->removed) e->record = std::move(r);
  }
  // Deleted by their owner elsewhere: forget them here.
  absl::MutexLock lock(&mu_);
  std::vector<std::string> gone;
  for (const auto& [id, e] : entries_) {
    absl::MutexLock entry_lock(&e->mu);
    if (!stored.contains(id) && !e->owned) gone.push_back(id);
  }
  for (const std::string& id : gone) {
    // Not owned: no subscription or instance to drop.
    entries_.erase(id);
  }
  return ids;
}

// ---- signals ---------------------------------------------------------------

absl::StatusOr<OrderResult> StrategyManager::SubmitSignal(const SignalRequest& request) {
  if (request.strategy_id.empty()) return Invalid("strategy_id", "is required");
  std::shared_ptr<Entry> e = Find(request.strategy_id);
  if (!e) {
    return StrategyNotFoundHere(request.strategy_id);
  }
  const std::string& id = request.strategy_id;
  XCTL_RETURN_IF_ERROR(CheckOwned(*e));
  std::optional<std::string> secret_hash;
  StrategyStatus status;
  bool signal_driven;
  std::string type;
  std::vector<std::string> pairs;
  {
    absl::MutexLock lock(&e->mu);
    secret_hash = e->record.signal_secret_hash;
    status = e->status;
    signal_driven = e->signal_driven;
    type = e->record.type;
    pairs = e->record.pairs;
  }
  if (secret_hash && !SignalSecretMatches(request.secret, *secret_hash)) {
    spdlog::warn("event=signal_rejected strategy={} reason=secret_mismatch", id);
    return absl::PermissionDeniedError("signal secret does not match");
  }
  if (status != StrategyStatus::kRunning) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "strategy ", id, " is ", ToString(status),
                          "; start it (StartStrategy) to take signals")),
                      reason::kStrategyNotRunning);
  }
  if (!signal_driven) {
    return absl::FailedPreconditionError(absl::StrCat(
        "strategy type ", type, " takes no signals; signals go to tradingview strategies"));
  }
  XCTL_ASSIGN_OR_RETURN(Signal signal, ParseSignal(request));
  if (std::find(pairs.begin(), pairs.end(), signal.symbol) == pairs.end()) {
    return Invalid("symbol", absl::StrCat(signal.symbol, " is not one of strategy ", id,
                                          "'s pairs (", absl::StrJoin(pairs, ", "), ")"));
  }
  if (signal.client_order_id.empty()) {
    // A replayed alert (the same body again) must not trade again: derive the
    // id from its content and the minute. The previous minute's id, when it
    // was used, is taken instead, so a replay just after a minute boundary is
    // caught as well (a window of 1-2 minutes).
    const int64_t minute = clock_->NowMillis() / kSignalReplayWindowMs;
    signal.client_order_id = DerivedSignalOrderId(id, signal, minute);
    const std::string previous = DerivedSignalOrderId(id, signal, minute - 1);
    std::optional<Order> seen;
    XCTL_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(seen, tx.orders().GetByClientOrderId(id, previous));
      return absl::OkStatus();
    }));
    if (seen) signal.client_order_id = previous;
  }
  spdlog::info(
      "event=signal_received strategy={} action={} symbol={} quantity={} price={} "
      "client_order_id={} comment={}",
      id, ToString(signal.action), signal.symbol,
      signal.quantity ? signal.quantity->ToString() : "all",
      signal.price ? signal.price->ToString() : "market", LogQuote(signal.client_order_id),
      LogQuote(signal.comment));

  absl::MutexLock run(&e->run_mu);
  {
    absl::MutexLock lock(&e->mu);
    if (e->removed || e->status != StrategyStatus::kRunning || !e->strategy) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            "strategy ", id, " stopped before the signal could be handled")),
                        reason::kStrategyNotRunning);
    }
  }
  StrategyContext context(id, trading_);
  std::optional<std::string> error;
  absl::StatusOr<OrderResult> result = absl::InternalError("not run");
  try {
    result = e->strategy->OnSignal(signal, context);
  } catch (const std::exception& ex) {
    error = ex.what();
  } catch (...) {
    error = "unknown exception";
  }
  if (error) {
    MarkFailed(*e, absl::StrCat("OnSignal threw: ", *error));
    return absl::InternalError(absl::StrCat("strategy ", id, " failed on the signal: ", *error));
  }
  if (!result.ok()) {
    spdlog::warn("event=signal_failed strategy={} action={} symbol={} error={}", id,
                 ToString(signal.action), signal.symbol, LogQuote(result.status().message()));
    return result;
  }
  spdlog::info("event=signal_traded strategy={} order_id={} status={} fills={} replayed={}", id,
               result->order.id, ToString(result->order.status), result->fills.size(),
               result->replayed);
  return result;
}

}  // namespace xctl
