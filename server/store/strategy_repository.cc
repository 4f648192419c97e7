// StrategyRepository: the `strategies` table (see repositories.h).
#include "server/store/repositories.h"

#include <soci/soci.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/common/status_macros.h"
#include "server/store/row_codecs.h"
#include "server/store/row_queries.h"
#include "server/store/sql_errors.h"

namespace xctl {
namespace {

using store_internal::CheckAffected;
using store_internal::Guard;
using store_internal::NullableInt;
using store_internal::NullableText;
using store_internal::One;
using store_internal::ParseStored;
using store_internal::Query;

std::string ParamsToJson(const std::map<std::string, std::string>& params) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto& [k, v] : params) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return buf.GetString();
}

absl::StatusOr<std::map<std::string, std::string>> ParamsFromJson(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.c_str(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::DataLossError("stored strategy params are not a JSON object");
  }
  std::map<std::string, std::string> out;
  for (const auto& m : doc.GetObject()) {
    if (!m.value.IsString()) return absl::DataLossError("stored strategy params hold a non-string");
    out[m.name.GetString()] = m.value.GetString();
  }
  return out;
}

constexpr char kStrategyColumns[] =
    "id, name, type, pairs, params, starting_balance, leverage, taker_fee_rate, "
    "maker_fee_rate, desired_status, credentials_ciphertext, signal_secret_hash, "
    "created_at, updated_at, deleted_at";

struct StrategyRow {
  std::string id, name, type, pairs, params, starting_balance, leverage;
  std::string taker, maker;
  soci::indicator taker_ind = soci::i_null, maker_ind = soci::i_null;
  std::string desired_status, credentials, secret_hash;
  soci::indicator credentials_ind = soci::i_null, secret_ind = soci::i_null;
  long long created_at = 0, updated_at = 0, deleted_at = 0;
  soci::indicator deleted_ind = soci::i_null;

  void Into(soci::details::prepare_temp_type& p) {
    p, soci::into(id), soci::into(name), soci::into(type), soci::into(pairs),
        soci::into(params), soci::into(starting_balance), soci::into(leverage),
        soci::into(taker, taker_ind), soci::into(maker, maker_ind), soci::into(desired_status),
        soci::into(credentials, credentials_ind), soci::into(secret_hash, secret_ind),
        soci::into(created_at), soci::into(updated_at), soci::into(deleted_at, deleted_ind);
  }

  absl::StatusOr<StrategyRecord> ToRecord() const {
    StrategyRecord s;
    s.id = id;
    s.name = name;
    s.type = type;
    s.pairs = absl::StrSplit(pairs, ',', absl::SkipEmpty());
    XCTL_ASSIGN_OR_RETURN(s.params, ParamsFromJson(params));
    XCTL_ASSIGN_OR_RETURN(s.starting_balance, ParseStored(starting_balance, "strategies.starting_balance"));
    XCTL_ASSIGN_OR_RETURN(s.leverage, ParseStored(leverage, "strategies.leverage"));
    if (taker_ind == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal t, ParseStored(taker, "strategies.taker_fee_rate"));
      s.taker_fee_rate = t;
    }
    if (maker_ind == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal m, ParseStored(maker, "strategies.maker_fee_rate"));
      s.maker_fee_rate = m;
    }
    s.running = desired_status == "running";
    if (credentials_ind == soci::i_ok) s.credentials_ciphertext = credentials;
    if (secret_ind == soci::i_ok) s.signal_secret_hash = secret_hash;
    s.created_at_ms = created_at;
    s.updated_at_ms = updated_at;
    if (deleted_ind == soci::i_ok) s.deleted_at_ms = deleted_at;
    return s;
  }
};

}  // namespace

absl::Status StrategyRepository::Insert(const StrategyRecord& s) {
  return Guard(absl::StrCat("insert strategy ", s.id), [&]() -> absl::Status {
    std::string pairs = absl::StrJoin(s.pairs, ","), params = ParamsToJson(s.params);
    std::string balance = s.starting_balance.ToString(), leverage = s.leverage.ToString();
    NullableText taker(s.taker_fee_rate), maker(s.maker_fee_rate);
    NullableText creds(s.credentials_ciphertext), secret(s.signal_secret_hash);
    std::string status = s.running ? "running" : "stopped";
    long long created = s.created_at_ms, updated = s.updated_at_ms;
    NullableInt deleted(s.deleted_at_ms);
    std::string id = s.id, name = s.name, type = s.type;
    session_ << "INSERT INTO strategies (" << kStrategyColumns
             << ") VALUES (:id, :name, :type, :pairs, :params, :bal, :lev, :taker, :maker, "
                ":status, :creds, :secret, :created, :updated, :deleted)",
        soci::use(id), soci::use(name), soci::use(type), soci::use(pairs), soci::use(params),
        soci::use(balance), soci::use(leverage), soci::use(taker.value, taker.ind),
        soci::use(maker.value, maker.ind), soci::use(status), soci::use(creds.value, creds.ind),
        soci::use(secret.value, secret.ind), soci::use(created), soci::use(updated),
        soci::use(deleted.value, deleted.ind);
    return absl::OkStatus();
  });
}

absl::Status StrategyRepository::Update(const StrategyRecord& s) {
  return Guard(absl::StrCat("update strategy ", s.id), [&]() -> absl::Status {
    std::string pairs = absl::StrJoin(s.pairs, ","), params = ParamsToJson(s.params);
    std::string balance = s.starting_balance.ToString(), leverage = s.leverage.ToString();
    NullableText taker(s.taker_fee_rate), maker(s.maker_fee_rate);
    NullableText creds(s.credentials_ciphertext), secret(s.signal_secret_hash);
    std::string status = s.running ? "running" : "stopped";
    long long updated = s.updated_at_ms;
    NullableInt deleted(s.deleted_at_ms);
    std::string id = s.id, name = s.name, type = s.type;
    soci::statement st = (session_.prepare <<
        "UPDATE strategies SET name = :name, type = :type, pairs = :pairs, params = :params, "
        "starting_balance = :bal, leverage = :lev, taker_fee_rate = :taker, "
        "maker_fee_rate = :maker, desired_status = :status, credentials_ciphertext = :creds, "
        "signal_secret_hash = :secret, updated_at = :updated, deleted_at = :deleted "
        "WHERE id = :id",
        soci::use(name), soci::use(type), soci::use(pairs), soci::use(params),
        soci::use(balance), soci::use(leverage), soci::use(taker.value, taker.ind),
        soci::use(maker.value, maker.ind), soci::use(status), soci::use(creds.value, creds.ind),
        soci::use(secret.value, secret.ind), soci::use(updated),
        soci::use(deleted.value, deleted.ind), soci::use(id));
    st.execute(true);
    return CheckAffected(st, absl::StrCat("strategy ", s.id));
  });
}

absl::StatusOr<StrategyRecord> StrategyRepository::Get(absl::string_view id_view) {
  std::string id(id_view);
  return One(Query<StrategyRow, StrategyRecord>(
                 "get strategy",
                 [&](StrategyRow& row) {
                   auto p = (session_.prepare << "SELECT " << kStrategyColumns
                                              << " FROM strategies WHERE id = :id AND deleted_at IS NULL");
                   row.Into(p);
                   p, soci::use(id);
                   return soci::statement(p);
                 },
                 [](const StrategyRow& r) { return r.ToRecord(); }),
             absl::StrCat("strategy \"", id, "\""));
}

absl::StatusOr<std::vector<StrategyRecord>> StrategyRepository::List() {
  return Query<StrategyRow, StrategyRecord>(
      "list strategies",
      [&](StrategyRow& row) {
        auto p = (session_.prepare << "SELECT " << kStrategyColumns
                                   << " FROM strategies WHERE deleted_at IS NULL ORDER BY id");
        row.Into(p);
        return soci::statement(p);
      },
      [](const StrategyRow& r) { return r.ToRecord(); });
}

absl::Status StrategyRepository::SoftDelete(absl::string_view id_view, int64_t now_ms) {
  return Guard("delete strategy", [&]() -> absl::Status {
    std::string id(id_view);
    long long now = now_ms;
    soci::statement st = (session_.prepare <<
        "UPDATE strategies SET deleted_at = :now, updated_at = :now2 WHERE id = :id AND deleted_at IS NULL",
        soci::use(now), soci::use(now), soci::use(id));
    st.execute(true);
    return CheckAffected(st, absl::StrCat("strategy \"", id, "\""));
  });
}

}  // namespace xctl
