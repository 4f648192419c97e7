#include "server/cluster/lease_keeper.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"

namespace xctl::cluster {

absl::string_view LeaseLossReasonName(LeaseLossReason reason) {
  switch (reason) {
    case LeaseLossReason::kNotRenewed:
      return "not_renewed";
    case LeaseLossReason::kDeadlinePassed:
      return "deadline_passed";
    case LeaseLossReason::kReleased:
      return "released";
    case LeaseLossReason::kStopped:
      return "stopped";
  }
  return "unknown";
}

LeaseKeeper::LeaseKeeper(LeaseTable& table, LeaseKeeperOptions options)
    : table_(table), options_(std::move(options)) {
  interval_ = options_.interval > absl::ZeroDuration() ? options_.interval : options_.ttl / 3;
  margin_ = options_.safety_margin > absl::ZeroDuration() ? options_.safety_margin
                                                          : options_.ttl / 10;
}

LeaseKeeper::~LeaseKeeper() { Stop(/*release=*/true); }

absl::Time LeaseKeeper::Deadline(absl::Time sent) const { return sent + options_.ttl - margin_; }

absl::Status LeaseKeeper::Start() {
  if (options_.holder.empty()) return absl::InvalidArgumentError("LeaseKeeper needs a holder id");
  if (options_.clock == nullptr) return absl::InvalidArgumentError("LeaseKeeper needs a clock");
  if (absl::Status s = ValidateLeaseTtl(options_.ttl); !s.ok()) return s;
  if (margin_ >= options_.ttl || interval_ >= options_.ttl - margin_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LeaseKeeper: interval (", absl::FormatDuration(interval_), ") must be shorter than ttl (",
        absl::FormatDuration(options_.ttl), ") minus the safety margin (",
        absl::FormatDuration(margin_), ")"));
  }
  absl::MutexLock lock(&mu_);
  if (started_) return absl::FailedPreconditionError("LeaseKeeper already started");
  started_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void LeaseKeeper::Stop(bool release) {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  std::vector<Event> events;
  {
    absl::MutexLock cycle(&cycle_mu_);
    std::vector<HeldLease> held;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [name, h] : held_) held.push_back(h);
      held_.clear();
    }
    for (const HeldLease& h : held) {
      if (release) {
        auto released = table_.Release(h.name, options_.holder, h.epoch);
        if (!released.ok()) {
          spdlog::warn("event=lease_release_failed name={} holder={} error={}", LogQuote(h.name),
                       LogQuote(options_.holder), LogQuote(released.status().ToString()));
        }
      }
      events.push_back(Event{.gained = false, .name = h.name, .epoch = h.epoch,
                             .reason = LeaseLossReason::kStopped});
    }
  }
  Report(std::move(events));
}

void LeaseKeeper::Want(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (wanted_.insert(name).second) wake_ = true;
}

void LeaseKeeper::Unwant(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (wanted_.erase(name) > 0) wake_ = true;
}

void LeaseKeeper::SetWanted(const std::vector<std::string>& names) {
  absl::MutexLock lock(&mu_);
  wanted_ = absl::flat_hash_set<std::string>(names.begin(), names.end());
  wake_ = true;
}

std::optional<int64_t> LeaseKeeper::HeldEpoch(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(name);
  if (it == held_.end() || it->second.local_deadline <= options_.clock->Monotonic()) {
    return std::nullopt;
  }
  return it->second.epoch;
}

absl::Duration LeaseKeeper::TimeLeft(const std::string& name, int64_t epoch) const {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(name);
  if (it == held_.end() || it->second.epoch != epoch) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), it->second.local_deadline - options_.clock->Monotonic());
}

std::vector<HeldLease> LeaseKeeper::Held() const {
  std::vector<HeldLease> out;
  auto now = options_.clock->Monotonic();
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, h] : held_) {
      if (h.local_deadline > now) out.push_back(h);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const HeldLease& a, const HeldLease& b) { return a.name < b.name; });
  return out;
}

void LeaseKeeper::RunOnce() { Report(Cycle()); }

void LeaseKeeper::Loop() {
  while (true) {
    Report(Cycle());
    // Sleep until the next cycle, an earlier local deadline, a change of
    // the wanted set, or Stop.
    absl::MutexLock lock(&mu_);
    absl::Duration wait = interval_;
    const absl::Time now = options_.clock->Monotonic();
    for (const auto& [name, h] : held_) {
      wait = std::min(wait, h.local_deadline - now + absl::Milliseconds(1));
    }
    wait = std::max(wait, absl::Milliseconds(1));
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
    options_.clock->AwaitWithDeadline(mu_, absl::Condition(&woken),
                                      options_.clock->Now() + wait);
    if (stop_) return;
    wake_ = false;
  }
}

std::vector<LeaseKeeper::Event> LeaseKeeper::Cycle() {
  absl::MutexLock cycle(&cycle_mu_);
  std::vector<Event> events;
  const std::string& holder = options_.holder;

  absl::flat_hash_map<std::string, HeldLease> held;
  absl::flat_hash_set<std::string> wanted;
  {
    absl::MutexLock lock(&mu_);
    if (stop_ && started_) return events;
    held = held_;
    wanted = wanted_;
  }
  auto lose = [&](const std::string& name, int64_t epoch, LeaseLossReason reason) {
    held.erase(name);
    events.push_back(Event{.gained = false, .name = name, .epoch = epoch, .reason = reason});
    spdlog::warn("event=lease_lost name={} holder={} epoch={} reason={}", LogQuote(name),
                 LogQuote(holder), epoch, LeaseLossReasonName(reason));
  };

  // 1. Renew everything held, in one statement.
  if (!held.empty()) {
    auto sent = options_.clock->Monotonic();
    auto renewed = table_.RenewAll(holder, options_.ttl);
    if (renewed.ok()) {
      absl::flat_hash_map<std::string, int64_t> by_name;
      for (const Lease& l : *renewed) by_name[l.name] = l.epoch;
      std::vector<std::pair<std::string, int64_t>> lost;
      for (auto& [name, h] : held) {
        auto it = by_name.find(name);
        if (it != by_name.end() && it->second == h.epoch) {
          h.local_deadline = Deadline(sent);
        } else {
          lost.emplace_back(name, h.epoch);
        }
      }
      for (auto& [name, epoch] : lost) lose(name, epoch, LeaseLossReason::kNotRenewed);
      // Renewed but not ours to keep (an unknown tenure of this holder id):
      // give it back.
      for (const Lease& l : *renewed) {
        auto it = held.find(l.name);
        if (it == held.end() || it->second.epoch != l.epoch) {
          (void)table_.Release(l.name, holder, l.epoch);
        }
      }
    } else {
      spdlog::warn("event=lease_renew_failed holder={} error={}", LogQuote(holder),
                   LogQuote(renewed.status().ToString()));
    }
  }

  // 2. Local deadlines: step down from what could not be renewed in time.
  auto now = options_.clock->Monotonic();
  std::vector<std::pair<std::string, int64_t>> overdue;
  for (const auto& [name, h] : held) {
    if (h.local_deadline <= now) overdue.emplace_back(name, h.epoch);
  }
  for (auto& [name, epoch] : overdue) lose(name, epoch, LeaseLossReason::kDeadlinePassed);

  // 3. Release what is no longer wanted.
  std::vector<std::pair<std::string, int64_t>> unwanted;
  for (const auto& [name, h] : held) {
    if (!wanted.contains(name)) unwanted.emplace_back(name, h.epoch);
  }
  for (auto& [name, epoch] : unwanted) {
    auto released = table_.Release(name, holder, epoch);
    if (!released.ok()) {
      spdlog::warn("event=lease_release_failed name={} holder={} error={}", LogQuote(name),
                   LogQuote(holder), LogQuote(released.status().ToString()));
    }
    held.erase(name);
    events.push_back(Event{.gained = false, .name = name, .epoch = epoch,
                           .reason = LeaseLossReason::kReleased});
    spdlog::info("event=lease_released name={} holder={} epoch={}", LogQuote(name),
                 LogQuote(holder), epoch);
  }

  // 4. Try to take every wanted lease not held.
  std::vector<std::string> to_acquire;
  for (const std::string& name : wanted) {
    if (!held.contains(name)) to_acquire.push_back(name);
  }
  std::sort(to_acquire.begin(), to_acquire.end());
  for (const std::string& name : to_acquire) {
    auto sent = options_.clock->Monotonic();
    auto lease = table_.TryAcquire(name, holder, options_.ttl);
    if (!lease.ok()) {
      spdlog::warn("event=lease_acquire_failed name={} holder={} error={}", LogQuote(name),
                   LogQuote(holder), LogQuote(lease.status().ToString()));
      if (lease.status().code() == absl::StatusCode::kUnavailable) break;  // retry next cycle
      continue;
    }
    if (!lease->held) continue;
    held[name] = HeldLease{.name = name, .epoch = lease->epoch, .local_deadline = Deadline(sent)};
    events.push_back(Event{.gained = true, .lease = *lease, .name = name, .epoch = lease->epoch});
    spdlog::info("event=lease_gained name={} holder={} epoch={}", LogQuote(name),
                 LogQuote(holder), lease->epoch);
  }

  absl::MutexLock lock(&mu_);
  held_ = std::move(held);
  return events;
}

void LeaseKeeper::Report(std::vector<Event> events) {
  for (Event& e : events) {
    try {
      if (e.gained) {
        if (options_.on_gained) options_.on_gained(e.lease);
      } else if (options_.on_lost) {
        options_.on_lost(e.name, e.epoch, e.reason);
      }
    } catch (const std::exception& ex) {
      spdlog::error("event=lease_callback_threw name={} error={}", LogQuote(e.name),
                    LogQuote(ex.what()));
    } catch (...) {
      spdlog::error("event=lease_callback_threw name={} error=unknown", LogQuote(e.name));
    }
  }
}

}  // namespace xctl::cluster
