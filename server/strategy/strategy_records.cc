#include "server/strategy/strategy_records.h"

#include <cstdlib>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/strategy/signal.h"
#include "server/strategy/strategy_validation.h"

namespace xctl {
namespace {

const Decimal kDefaultStartingBalance = Decimal::FromInt(10000);

std::string GenerateId(absl::string_view type) {
  absl::BitGen gen;
  return absl::StrFormat("%s-%08x", type.substr(0, 40), absl::Uniform<uint32_t>(gen));
}

absl::StatusOr<std::string> RequiredEnv(const std::string& name, absl::string_view field) {
  if (name.empty()) return InvalidField(field, "names no environment variable");
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return InvalidField(field, absl::StrCat("environment variable ", name,
                                            " is not set or empty; export it before starting xctld"));
  }
  return std::string(value);
}

absl::StatusOr<Decimal> ConfigDecimal(const std::string& text, absl::string_view field) {
  auto value = Decimal::Parse(text);
  if (!value.ok()) return InvalidField(field, value.status().message());
  return *value;
}

// What exchange control and the instances know of a record, without its
// credentials (InfoFor adds them) and not running.
StrategyInfo InfoWithoutCredentials(const StrategyRecord& r) {
  return StrategyInfo{.id = r.id,
                      .type = r.type,
                      .pairs = r.pairs,
                      .starting_balance = r.starting_balance,
                      .leverage = r.leverage,
                      .taker_fee_rate = r.taker_fee_rate,
                      .maker_fee_rate = r.maker_fee_rate};
}

}  // namespace

StrategyView ViewOf(const StrategyEntry& e) {
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

StrategyRecords::StrategyRecords(Store* store, PriceModule* prices,
                                 const StrategyRegistry* registry,
                                 const CredentialsCipher* cipher, const Clock* clock)
    : store_(store), prices_(prices), registry_(registry), cipher_(cipher), clock_(clock) {}

// ---- building and checking --------------------------------------------------

absl::StatusOr<StrategyInfo> StrategyRecords::InfoFor(const StrategyRecord& r,
                                                      bool running) const {
  StrategyInfo info = InfoWithoutCredentials(r);
  info.running = running;
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

absl::StatusOr<std::unique_ptr<Strategy>> StrategyRecords::BuildInstance(
    const StrategyRecord& r) const {
  // Instances never see the credentials.
  return registry_->Create(r.type, InfoWithoutCredentials(r), r.params);
}

absl::Status StrategyRecords::CheckPriced(const Strategy& strategy,
                                          const std::vector<std::string>& pairs) const {
  if (prices_ == nullptr || !strategy.price_driven()) return absl::OkStatus();
  for (const std::string& p : pairs) {
    if (!prices_->IsConfigured(p)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pairs: ", p, " has no prices on this server; add it to price.pairs in the config (",
          strategy.type(), " is price-driven)"));
    }
  }
  return absl::OkStatus();
}

// ---- requests --------------------------------------------------------------

absl::StatusOr<StrategyRecord> StrategyRecords::NewRecord(const NewStrategy& request) const {
  const StrategySpec& spec = request.spec;
  if (absl::Status s = registry_->CheckType(spec.type); !s.ok()) {
    return InvalidField("type", s.message());
  }
  if (request.credentials) XCTL_RETURN_IF_ERROR(ValidateCredentials(*request.credentials));
  if (request.credentials && cipher_ == nullptr) return NoMasterKeyError();
  const int64_t now = clock_->NowMillis();
  StrategyRecord r{.id = spec.id.empty() ? GenerateId(spec.type) : spec.id,
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
  XCTL_RETURN_IF_ERROR(ValidateStrategyFields(r));
  XCTL_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> probe, BuildInstance(r));
  XCTL_RETURN_IF_ERROR(CheckPriced(*probe, r.pairs));
  if (!request.signal_secret.empty()) r.signal_secret_hash = HashSignalSecret(request.signal_secret);
  return r;
}

absl::Status StrategyRecords::Insert(StrategyRecord& r, const NewStrategy& request,
                                     bool generated) {
  const StrategySpec& spec = request.spec;
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
  return inserted;
}

absl::StatusOr<StrategyRecord> StrategyRecords::Updated(const StrategyRecord& old,
                                                        const StrategyUpdate& u) const {
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
      if (!v.starting_balance) return InvalidField(p, "named in update_mask but not set");
      next.starting_balance = *v.starting_balance;
    } else if (p == "leverage") {
      if (!v.leverage) return InvalidField(p, "named in update_mask but not set");
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
  XCTL_RETURN_IF_ERROR(ValidateStrategyFields(next));
  XCTL_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> probe, BuildInstance(next));
  XCTL_RETURN_IF_ERROR(CheckPriced(*probe, next.pairs));
  next.updated_at_ms = clock_->NowMillis();
  return next;
}

// ---- the store -------------------------------------------------------------

absl::Status StrategyRecords::Save(const StrategyRecord& record) {
  return store_->Transact([&](Tx& tx) { return tx.strategies().Update(record); });
}

absl::Status StrategyRecords::SoftDelete(absl::string_view id) {
  const int64_t now = clock_->NowMillis();
  return store_->Transact([&](Tx& tx) { return tx.strategies().SoftDelete(id, now); });
}

absl::StatusOr<std::optional<StrategyRecord>> StrategyRecords::Read(absl::string_view id_view) {
  const std::string id(id_view);
  absl::StatusOr<StrategyRecord> record = absl::InternalError("not read");
  XCTL_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> absl::Status {
    record = tx.strategies().Get(id);
    return record.ok() || absl::IsNotFound(record.status()) ? absl::OkStatus() : record.status();
  }));
  if (!record.ok()) return std::nullopt;
  return *std::move(record);
}

absl::StatusOr<std::vector<StrategyRecord>> StrategyRecords::ReadAll() {
  std::vector<StrategyRecord> list;
  XCTL_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(list, tx.strategies().List());
    return absl::OkStatus();
  }));
  return list;
}

absl::StatusOr<bool> StrategyRecords::StoredExposure(absl::string_view id) {
  bool open = false;
  XCTL_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(auto positions, tx.positions().ListOpen(id));
    XCTL_ASSIGN_OR_RETURN(auto orders, tx.orders().ListResting(id));
    open = !positions.empty() || !orders.empty();
    return absl::OkStatus();
  }));
  return open;
}

absl::StatusOr<bool> StrategyRecords::OrderExists(absl::string_view id,
                                                  absl::string_view client_order_id) {
  std::optional<Order> seen;
  XCTL_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(seen, tx.orders().GetByClientOrderId(id, client_order_id));
    return absl::OkStatus();
  }));
  return seen.has_value();
}

// ---- start-up -------------------------------------------------------------

absl::StatusOr<StrategyRecord> StrategyRecords::RecordFromConfig(
    const StrategyConfig& c, const StrategyRecord* stored) const {
  const int64_t now = clock_->NowMillis();
  StrategyRecord r;
  if (stored != nullptr) {
    r = *stored;
    if (stored->type != c.type) {
      return InvalidField("type", absl::StrCat("the config says ", c.type,
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
  XCTL_RETURN_IF_ERROR(ValidateStrategyFields(r));
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
      return InvalidField("credentials_env", absl::StrCat("storing credentials needs a master key (",
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

absl::StatusOr<std::map<std::string, StrategyRecord>> StrategyRecords::LoadAndUpsert(
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

}  // namespace xctl
