#include "server/strategy/master_key.h"

#include <algorithm>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace xctl {
namespace {

// "a, b, c" or "a, b, c, d, e and 3 more".
std::string Names(const std::vector<StrategyRecord>& records) {
  std::vector<std::string> ids;
  for (const StrategyRecord& r : records) {
    if (ids.size() == 5) break;
    ids.push_back(r.id);
  }
  std::string out = absl::StrJoin(ids, ", ");
  if (records.size() > ids.size()) absl::StrAppend(&out, " and ", records.size() - ids.size(), " more");
  return out;
}

std::string KeySource(const std::string& key_file) {
  const char* env = std::getenv(kMasterKeyEnv);
  if (env != nullptr && *env != '\0') return kMasterKeyEnv;
  return absl::StrCat("the key file ", key_file);
}

std::string HowToRecover(const std::string& key_file) {
  return absl::StrCat(
      "Restore the key file ", key_file, " from your backup (or set ", kMasterKeyEnv,
      " to its Base64: base64 < KEYFILE), or start xctld once with --forget-credentials to "
      "clear those strategies' credentials (they switch to paper; set them again with `xctl "
      "strategies set-credentials ID`)");
}

}  // namespace

absl::StatusOr<std::unique_ptr<CredentialsCipher>> LoadMasterKey(
    Store& store, const MasterKeyOptions& options, const Clock& clock) {
  std::vector<StrategyRecord> stored;
  XCTL_RETURN_IF_ERROR(store.Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(std::vector<StrategyRecord> all, tx.strategies().List());
    for (StrategyRecord& r : all) {
      if (!r.credentials_ciphertext) continue;
      if (std::find(options.resupplied.begin(), options.resupplied.end(), r.id) !=
          options.resupplied.end()) {
        continue;
      }
      stored.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));

  if (options.forget_credentials && !stored.empty()) {
    const int64_t now = clock.NowMillis();
    XCTL_RETURN_IF_ERROR(store.Transact([&](Tx& tx) -> absl::Status {
      for (StrategyRecord r : stored) {
        r.credentials_ciphertext.reset();
        r.updated_at_ms = now;
        XCTL_RETURN_IF_ERROR(tx.strategies().Update(r));
      }
      return absl::OkStatus();
    }));
    spdlog::warn("event=credentials_forgotten count={} strategies={} note={}", stored.size(),
                 LogQuote(Names(stored)),
                 LogQuote("--forget-credentials: these strategies trade paper until their "
                          "credentials are set again"));
    stored.clear();
  }

  if (stored.empty()) {
    auto cipher = CredentialsCipher::Load(options.key_file, /*create_if_missing=*/true);
    if (cipher.ok()) return cipher;
    if (cipher.status().code() == absl::StatusCode::kPermissionDenied ||
        cipher.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::Status(cipher.status().code(),
                          absl::StrCat("master key: ", cipher.status().message()));
    }
    // Paper strategies need no key; setting credentials is refused with the reason.
    spdlog::warn("event=credentials_key_unavailable key_file={} error={}",
                 LogQuote(options.key_file), LogQuote(cipher.status().message()));
    return std::unique_ptr<CredentialsCipher>();
  }

  auto cipher = CredentialsCipher::Load(options.key_file, /*create_if_missing=*/false);
  if (!cipher.ok()) {
    if (cipher.status().code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(absl::StrCat(
          "master key: the key file ", options.key_file, " is missing (and ", kMasterKeyEnv,
          " is not set), but strategies ", Names(stored),
          " have BloFin credentials stored with a master key; xctld does not make a new key, "
          "which could not decrypt them. ",
          HowToRecover(options.key_file)));
    }
    return absl::Status(cipher.status().code(),
                        absl::StrCat("master key: ", cipher.status().message(), ". Strategies ",
                                     Names(stored), " have credentials stored with it."));
  }
  std::vector<StrategyRecord> undecryptable;
  for (const StrategyRecord& r : stored) {
    if (!(*cipher)->Decrypt(*r.credentials_ciphertext, r.id).ok()) undecryptable.push_back(r);
  }
  if (undecryptable.size() == stored.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "master key: ", KeySource(options.key_file),
        " does not decrypt the credentials stored for strategies ", Names(stored),
        ": it is not the key they were stored with. ", HowToRecover(options.key_file)));
  }
  if (!undecryptable.empty()) {
    // The key decrypts the others, so it is the right one: these rows are
    // damaged. Those strategies start FAILED; the others run.
    spdlog::error("event=credentials_undecryptable strategies={} note={}",
                  LogQuote(Names(undecryptable)),
                  LogQuote("the master key decrypts the other strategies' credentials; set "
                           "these again with `xctl strategies set-credentials ID`"));
  }
  return cipher;
}

}  // namespace xctl
