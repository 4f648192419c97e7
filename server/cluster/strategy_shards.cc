#include "server/cluster/strategy_shards.h"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/cluster/subjects.h"
#include "server/common/log.h"

namespace xctl::cluster {
namespace {

constexpr absl::string_view kHolderSuffix = "/strategies";
constexpr absl::string_view kMemberPrefix = "member:";

}  // namespace

std::string NodeOfShardsHolder(absl::string_view holder) {
  return std::string(absl::StripSuffix(holder, kHolderSuffix));
}

// One row of the overview: a member or strategy lease as the database sees
// it now.
struct StrategyShards::Overview {
  struct Row {
    std::string name;
    std::string holder;
    int64_t epoch = 0;
    bool live = false;  // unexpired by the database clock
    std::string address;  // member rows: the advertised gRPC address, if any
  };
  std::vector<Row> rows;
};

// Reads every member and strategy lease in one statement on a connection of
// its own (LeaseTable has no listing by prefix; like LeaseTable, this SQL
// stays outside the store on purpose: see docs/cluster.md).
class StrategyShards::OverviewReader {
 public:
  static absl::StatusOr<std::unique_ptr<OverviewReader>> Open(const std::string& url) {
    auto reader = std::unique_ptr<OverviewReader>(new OverviewReader);
    if (absl::StartsWith(url, "sqlite:")) {
      reader->dialect_ = Dialect::kSqlite;
      reader->connect_ = absl::StrCat("db=\"", absl::StripPrefix(url, "sqlite:"), "\" timeout=5");
    } else {
      reader->dialect_ = Dialect::kPostgresql;
      auto info = PostgresConnInfo(url);
      if (!info.ok()) return info.status();
      reader->connect_ = *info;
    }
    if (absl::Status s = reader->Connect(); !s.ok()) return s;
    return reader;
  }

  absl::StatusOr<Overview> Read() {
    const std::string now =
        dialect_ == Dialect::kPostgresql
            ? "now()"
            : "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
    // Member rows carry the member's advertised gRPC address
    // (cluster_members, migration 0005): one statement still.
    const std::string sql = absl::StrCat(
        "SELECT l.name, l.holder, l.epoch, CASE WHEN l.expires_at > ", now,
        " THEN 1 ELSE 0 END, COALESCE(m.grpc_address, '') FROM cluster_leases l "
        "LEFT JOIN cluster_members m ON l.name = 'member:' || m.node "
        "WHERE l.name LIKE 'member:%' OR l.name LIKE 'strategy:%'");
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!session_) {
          if (absl::Status s = Connect(); !s.ok()) return s;
        }
        Overview out;
        std::string name, holder, address;
        long long epoch = 0;
        int live = 0;
        soci::statement st = (session_->prepare << sql, soci::into(name), soci::into(holder),
                              soci::into(epoch), soci::into(live), soci::into(address));
        st.execute();
        while (st.fetch()) {
          out.rows.push_back(Overview::Row{.name = name, .holder = holder, .epoch = epoch,
                                           .live = live != 0, .address = address});
        }
        return out;
      } catch (const std::exception& e) {
        session_.reset();  // reconnect on the next attempt
        if (attempt == 1) {
          return absl::UnavailableError(
              absl::StrCat("lease overview: ", absl::StripAsciiWhitespace(e.what())));
        }
      }
    }
    return absl::UnavailableError("lease overview: not read");
  }

  // Upserts this member's advertised gRPC address (one statement).
  absl::Status Publish(const std::string& node, const std::string& address) {
    const std::string sql =
        "INSERT INTO cluster_members (node, grpc_address) VALUES (:node, :address) "
        "ON CONFLICT (node) DO UPDATE SET grpc_address = excluded.grpc_address";
    try {
      if (!session_) {
        if (absl::Status s = Connect(); !s.ok()) return s;
      }
      *session_ << sql, soci::use(node, "node"), soci::use(address, "address");
      return absl::OkStatus();
    } catch (const std::exception& e) {
      session_.reset();
      return absl::UnavailableError(
          absl::StrCat("member address: ", absl::StripAsciiWhitespace(e.what())));
    }
  }

 private:
  absl::Status Connect() {
    try {
      auto session = std::make_unique<soci::session>();
      if (dialect_ == Dialect::kSqlite) {
        session->open(soci::sqlite3, connect_);
      } else {
        session->open(soci::postgresql, connect_);
      }
      session_ = std::move(session);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat("lease overview: cannot connect: ",
                                                 absl::StripAsciiWhitespace(e.what())));
    }
  }

  Dialect dialect_ = Dialect::kPostgresql;
  std::string connect_;
  std::unique_ptr<soci::session> session_;  // only the shards thread uses it
};

StrategyShards::StrategyShards(StrategyShardsOptions options, StrategyManager& manager)
    : options_(std::move(options)),
      holder_(absl::StrCat(options_.node_id, kHolderSuffix)),
      member_name_(absl::StrCat(kMemberPrefix, options_.node_id)),
      manager_(manager),
      interval_(options_.lease_ttl / 3) {}

absl::StatusOr<std::unique_ptr<StrategyShards>> StrategyShards::Create(
    StrategyShardsOptions options, StrategyManager& manager) {
  if (options.node_id.empty()) return absl::InvalidArgumentError("StrategyShards needs a node id");
  if (absl::Status s = ValidateLeaseTtl(options.lease_ttl); !s.ok()) return s;
  if (options.clock == nullptr) return absl::InvalidArgumentError("StrategyShards needs a clock");
  auto shards = std::unique_ptr<StrategyShards>(new StrategyShards(std::move(options), manager));
  auto table = LeaseTable::Open(shards->options_.database_url);
  if (!table.ok()) return table.status();
  shards->table_ = *std::move(table);
  auto reader = OverviewReader::Open(shards->options_.database_url);
  if (!reader.ok()) return reader.status();
  shards->reader_ = *std::move(reader);
  StrategyShards* self = shards.get();
  shards->keeper_ = std::make_unique<LeaseKeeper>(
      *shards->table_,
      LeaseKeeperOptions{
          .holder = shards->holder_,
          .ttl = shards->options_.lease_ttl,
          .interval = shards->interval_,
          .clock = shards->options_.clock,
          .on_gained = [self](const Lease& lease) { self->OnGained(lease); },
          .on_lost = [self](const std::string& name, int64_t epoch,
                            LeaseLossReason reason) { self->OnLost(name, epoch, reason); }});
  return shards;
}

StrategyShards::~StrategyShards() { Stop(/*release=*/true); }

absl::Status StrategyShards::Run() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopped_) {
    return absl::FailedPreconditionError("StrategyShards already running or stopped");
  }
  thread_ = std::thread([this] { Loop(); });
  spdlog::info("event=strategy_shards_started node={} holder={} ttl_ms={}",
               LogQuote(options_.node_id), LogQuote(holder_),
               absl::ToInt64Milliseconds(options_.lease_ttl));
  return absl::OkStatus();
}

void StrategyShards::Stop(bool release) {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  // Reports every held lease lost: each strategy stops here.
  if (keeper_) keeper_->Stop(release);
  spdlog::info("event=strategy_shards_stopped node={} released={}", LogQuote(options_.node_id),
               release);
}

void StrategyShards::Nominate(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  candidates_.insert(std::string(strategy_id));
  wake_ = true;
}

std::optional<int64_t> StrategyShards::HeldEpoch(absl::string_view strategy_id) const {
  auto name = StrategyLeaseName(strategy_id);
  if (!name.ok()) return std::nullopt;
  return keeper_->HeldEpoch(*name);
}

std::vector<std::string> StrategyShards::Owned() const {
  std::vector<std::string> out;
  for (const HeldLease& h : keeper_->Held()) {
    auto id = StrategyOfLeaseName(h.name);
    if (!id) continue;
    absl::MutexLock lock(&mu_);
    if (taken_.contains(*id)) out.push_back(*id);
  }
  return out;
}

StrategyShards::Stats StrategyShards::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

absl::Status StrategyShards::CheckOwner(absl::string_view strategy_id) {
  auto name = StrategyLeaseName(strategy_id);
  if (!name.ok()) return absl::OkStatus();  // not a strategy id: the caller says so
  bool candidate, taken, read_once;
  std::optional<KnownLease> known;
  {
    absl::MutexLock lock(&mu_);
    taken = taken_.contains(strategy_id);
    read_once = read_once_;
    if (giving_back_.contains(strategy_id)) {
      return absl::UnavailableError(absl::StrCat(
          "strategy ", strategy_id, " is moving from instance ", options_.node_id,
          " to another instance; retry in a moment"));
    }
    candidate = candidates_.contains(strategy_id);
    if (auto it = leases_.find(strategy_id); it != leases_.end()) known = it->second;
  }
  // The owner's path: one in-memory check (the lease's local deadline has
  // not passed), so a deposed owner refuses before anyone else can take over.
  if (auto epoch = keeper_->HeldEpoch(*name)) {
    if (taken) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        "strategy ", strategy_id, " is being taken over by instance ", options_.node_id,
        " (lease epoch ", *epoch, "); retry in a moment"));
  }
  // Not ours: who held it at the last round (at most ttl/3 ago; a client
  // sent to an instance that lost it since is named the next owner there).
  // Only when that names no live owner (a takeover under way) is the lease
  // table asked, so the answer names the new owner as soon as there is one.
  if (candidate && !(known && known->live && known->holder != holder_)) {
    if (auto fresh = ReadLeaseAfresh(*name, strategy_id)) known = *fresh;
  }
  if (known && known->live && known->holder != holder_) {
    return absl::UnavailableError(absl::StrCat(
        "strategy ", strategy_id, " runs on instance ", NodeOfShardsHolder(known->holder),
        " (lease epoch ", known->epoch, "); send the request there or retry"));
  }
  if (!read_once) {
    // Just started: no round has read the stored strategies yet (the
    // listener is up before the first round ends, or the database is down).
    return absl::UnavailableError(absl::StrCat(
        "strategy ", strategy_id, ": instance ", options_.node_id,
        " has not read the cluster's strategies yet; retry in a moment"));
  }
  if (!candidate) return absl::OkStatus();  // deleted, or unknown here yet
  if (known) {
    return absl::UnavailableError(absl::StrCat(
        "strategy ", strategy_id, " has no live owner: the lease of instance ",
        NodeOfShardsHolder(known->holder), " (epoch ", known->epoch,
        ") ended; another instance takes it over within ",
        absl::FormatDuration(options_.lease_ttl * 5 / 3), "; retry"));
  }
  return absl::UnavailableError(absl::StrCat(
      "strategy ", strategy_id, " is not owned by any instance yet; retry in a moment"));
}

void StrategyShards::SetAdvertisedAddress(std::string address) {
  absl::MutexLock lock(&mu_);
  if (address == advertised_) return;
  advertised_ = std::move(address);
  address_published_ = false;
  wake_ = true;
}

std::optional<StrategyShards::KnownLease> StrategyShards::ReadLeaseAfresh(
    const std::string& name, absl::string_view strategy_id) {
  auto fresh = table_->Get(name);
  if (!fresh.ok() || !fresh->has_value()) return std::nullopt;
  const Lease& l = **fresh;
  KnownLease known{.holder = l.holder, .epoch = l.epoch, .live = l.expires_at_ms > l.db_now_ms};
  absl::MutexLock lock(&mu_);
  leases_[std::string(strategy_id)] = known;
  return known;
}

std::optional<RemoteOwner> StrategyShards::RemoteOwnerOf(absl::string_view strategy_id) {
  auto name = StrategyLeaseName(strategy_id);
  if (!name.ok()) return std::nullopt;
  if (keeper_->HeldEpoch(*name)) return std::nullopt;  // ours (or being taken here)
  bool candidate;
  std::optional<KnownLease> known;
  {
    absl::MutexLock lock(&mu_);
    if (giving_back_.contains(strategy_id)) return std::nullopt;
    candidate = candidates_.contains(strategy_id);
    if (auto it = leases_.find(strategy_id); it != leases_.end()) known = it->second;
  }
  auto other_live = [&] { return known && known->live && known->holder != holder_; };
  // As CheckOwner: when the last round names no other live owner (a
  // takeover or a give-back under way), the lease row is read afresh, so a
  // call forwarded here just after this instance gave the strategy away is
  // answered naming the new owner (and retried there by the sender).
  if (candidate && !other_live()) {
    if (auto fresh = ReadLeaseAfresh(*name, strategy_id)) known = *fresh;
  }
  if (!other_live()) return std::nullopt;
  RemoteOwner owner{.node = NodeOfShardsHolder(known->holder), .epoch = known->epoch};
  absl::MutexLock lock(&mu_);
  if (auto a = addresses_.find(owner.node); a != addresses_.end()) owner.address = a->second;
  return owner;
}

std::string StrategyShards::AddressOf(absl::string_view node) const {
  absl::MutexLock lock(&mu_);
  auto it = addresses_.find(node);
  return it == addresses_.end() ? std::string() : it->second;
}

void StrategyShards::Loop() {
  while (true) {
    Round();
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
    options_.clock->AwaitWithDeadline(mu_, absl::Condition(&woken),
                                      options_.clock->Now() + interval_);
    if (stop_) return;
    wake_ = false;
  }
}

void StrategyShards::Round() {
  // 1. The candidates: every stored strategy (the manager learns of new,
  // changed and deleted ones on the way).
  auto ids = manager_.RefreshFromStore();
  // This member's gRPC address, once (again after a failure), so others
  // can forward calls here (docs/cluster.md, "Forwarding").
  std::string advertise;
  {
    absl::MutexLock lock(&mu_);
    if (!address_published_) advertise = advertised_;
  }
  if (!advertise.empty()) {
    absl::Status published = reader_->Publish(options_.node_id, advertise);
    if (published.ok()) {
      spdlog::info("event=cluster_member_address node={} address={}", LogQuote(options_.node_id),
                   LogQuote(advertise));
      absl::MutexLock lock(&mu_);
      address_published_ = advertised_ == advertise;
    } else {
      spdlog::warn("event=cluster_member_address_failed node={} error={}",
                   LogQuote(options_.node_id), LogQuote(published.message()));
    }
  }
  // 2. Who holds what.
  auto overview = ids.ok() ? reader_->Read() : absl::StatusOr<Overview>(ids.status());
  std::vector<std::string> wanted{member_name_};
  std::optional<std::string> give_back;
  if (!overview.ok()) {
    // Keep what is held (renewals go on below); take nothing new.
    spdlog::warn("event=strategy_shards_round_failed node={} error={}",
                 LogQuote(options_.node_id), LogQuote(overview.status().message()));
    for (const HeldLease& h : keeper_->Held()) wanted.push_back(h.name);
  } else {
    absl::flat_hash_set<std::string> candidates(ids->begin(), ids->end());
    absl::flat_hash_set<std::string> live_members{holder_};  // count ourselves
    absl::flat_hash_map<std::string, std::string> live_owner;  // strategy id -> holder
    absl::flat_hash_map<std::string, KnownLease> leases;
    absl::flat_hash_map<std::string, std::string> addresses;  // node -> gRPC address
    for (const Overview::Row& row : overview->rows) {
      if (absl::StartsWith(row.name, kMemberPrefix)) {
        if (row.live) live_members.insert(row.holder);
        if (row.live && !row.address.empty()) {
          addresses[row.name.substr(kMemberPrefix.size())] = row.address;
        }
      } else if (auto id = StrategyOfLeaseName(row.name)) {
        leases[*id] = KnownLease{.holder = row.holder, .epoch = row.epoch, .live = row.live};
        if (row.live) live_owner[*id] = row.holder;
      }
    }
    std::vector<std::string> held, unowned;
    for (const std::string& id : *ids) {
      if (HeldEpoch(id)) {
        held.push_back(id);
        continue;
      }
      auto it = live_owner.find(id);
      if (it == live_owner.end()) unowned.push_back(id);
    }
    const int members = static_cast<int>(live_members.size());
    const int n = static_cast<int>(ids->size());
    const int share = (n + members - 1) / members;
    // Spread the survivors' choices: each instance tries the unowned ones in
    // its own hashed order.
    auto rank = [this](const std::string& id) { return absl::HashOf(holder_, id); };
    std::sort(unowned.begin(), unowned.end(),
              [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
    std::sort(held.begin(), held.end(),
              [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
    const int take = std::max(0, share - static_cast<int>(held.size()));
    for (int i = 0; i < take && i < static_cast<int>(unowned.size()); ++i) {
      wanted.push_back(*StrategyLeaseName(unowned[i]));
    }
    // More than our share (an instance joined): give one back per round,
    // the one last in our order, stopping it here first.
    if (static_cast<int>(held.size()) > share) give_back = held.back();
    for (const std::string& id : held) {
      if (give_back && id == *give_back) continue;
      wanted.push_back(*StrategyLeaseName(id));
    }
    absl::MutexLock lock(&mu_);
    candidates_ = std::move(candidates);
    read_once_ = true;
    leases_ = std::move(leases);
    addresses_ = std::move(addresses);
    stats_.live_members = members;
    stats_.candidates = n;
  }
  if (give_back) {
    {
      absl::MutexLock lock(&mu_);
      giving_back_.insert(*give_back);
      taken_.erase(*give_back);
      ++stats_.given_back;
    }
    manager_.DropOwnership(*give_back, "balancing");
    spdlog::info("event=strategy_given_back id={} node={}", *give_back,
                 LogQuote(options_.node_id));
  }
  // 3. Renew, step down, release, acquire; callbacks run here.
  keeper_->SetWanted(wanted);
  keeper_->RunOnce();
  absl::MutexLock lock(&mu_);
  if (give_back) giving_back_.erase(*give_back);
  ++stats_.rounds;
}

void StrategyShards::OnGained(const Lease& lease) {
  auto id = StrategyOfLeaseName(lease.name);
  if (!id) return;  // the member lease
  absl::Status taken = manager_.TakeOwnership(*id);
  if (!taken.ok()) {
    // Give the lease back: the next round tries again (here or elsewhere).
    spdlog::warn("event=strategy_take_failed id={} epoch={} error={}", *id, lease.epoch,
                 LogQuote(taken.message()));
    keeper_->Unwant(lease.name);
    return;
  }
  spdlog::info("event=strategy_lease_gained id={} node={} epoch={}", *id,
               LogQuote(options_.node_id), lease.epoch);
  absl::MutexLock lock(&mu_);
  taken_.insert(*id);
  ++stats_.gained;
}

void StrategyShards::OnLost(const std::string& name, int64_t epoch, LeaseLossReason reason) {
  auto id = StrategyOfLeaseName(name);
  if (!id) {
    if (name == member_name_) {
      spdlog::warn("event=cluster_member_lease_lost node={} reason={}",
                   LogQuote(options_.node_id), LeaseLossReasonName(reason));
    }
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    taken_.erase(*id);
  }
  manager_.DropOwnership(*id, LeaseLossReasonName(reason));
  spdlog::info("event=strategy_lease_lost id={} node={} epoch={} reason={}", *id,
               LogQuote(options_.node_id), epoch, LeaseLossReasonName(reason));
  absl::MutexLock lock(&mu_);
  ++stats_.lost;
}

}  // namespace xctl::cluster
