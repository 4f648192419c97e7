#include "server/strategy/strategy_entry.h"

#include <utility>

namespace xctl {

absl::string_view ToString(StrategyStatus status) {
  switch (status) {
    case StrategyStatus::kStopped: return "stopped";
    case StrategyStatus::kRunning: return "running";
    case StrategyStatus::kFailed: return "failed";
  }
  return "unknown";
}

StrategyEntryPtr StrategyTable::Find(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

std::vector<StrategyEntryPtr> StrategyTable::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<StrategyEntryPtr> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(entry);
  return out;
}

void StrategyTable::Put(const std::string& id, StrategyEntryPtr entry) {
  absl::MutexLock lock(&mu_);
  entries_[id] = std::move(entry);
}

StrategyEntryPtr StrategyTable::FindOrPut(const std::string& id,
                                          const std::function<StrategyEntryPtr()>& make,
                                          bool* fresh) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = entries_.try_emplace(id, nullptr);
  if (inserted) it->second = make();
  if (fresh != nullptr) *fresh = inserted;
  return it->second;
}

void StrategyTable::Erase(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  entries_.erase(id);
}

void StrategyTable::EraseUnownedExcept(const absl::flat_hash_set<std::string>& keep) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> gone;
  for (const auto& [id, e] : entries_) {
    if (!keep.contains(id) && !e->owned.load()) gone.push_back(id);
  }
  // Not owned: no subscription or instance to drop.
  for (const std::string& id : gone) entries_.erase(id);
}

}  // namespace xctl
