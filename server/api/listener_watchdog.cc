#include "server/api/listener_watchdog.h"

#include <utility>

#include "server/common/log.h"

namespace xctl::api {

ListenerWatchdog::ListenerWatchdog(Options options, Deps deps)
    : options_(options), deps_(std::move(deps)) {}

ListenerWatchdog::~ListenerWatchdog() { Stop(); }

ListenerWatchdog::Outcome ListenerWatchdog::CheckOnce() {
  if (gave_up_) return Outcome::kGaveUp;
  const absl::Time now = deps_.clock->Now();
  if (deps_.probe()) {
    if (failed_in_a_row_ > 0) {
      spdlog::info("event=listener_answering_again failed_checks={}", failed_in_a_row_);
    } else if (!armed_) {
      spdlog::info("event=listener_watchdog_armed");
    }
    armed_ = true;
    failed_in_a_row_ = 0;
    return Outcome::kHealthy;
  }
  if (!armed_) return Outcome::kNotArmed;
  if (failed_in_a_row_++ == 0) failing_since_ = now;
  const int64_t stalled_ms = absl::ToInt64Milliseconds(now - failing_since_);
  spdlog::warn("event=listener_not_answering failed_checks={} stalled_ms={}", failed_in_a_row_,
               stalled_ms);
  if (failed_in_a_row_ < options_.failures) return Outcome::kFailing;
  if (!deps_.accept_stuck()) {
    spdlog::warn("event=listener_recovery_skipped reason={}",
                 LogQuote("the accept queue is empty: the server is slow, the listener works"));
    return Outcome::kBusy;
  }
  if (!deps_.fds_available()) {
    spdlog::warn("event=listener_recovery_waiting reason={}",
                 LogQuote("file descriptors still exhausted"));
    return Outcome::kWaitingForFds;
  }
  spdlog::warn("event=listener_rebuilding failed_checks={} stalled_ms={}", failed_in_a_row_,
               stalled_ms);
  if (absl::Status rebuilt = deps_.recover(); !rebuilt.ok()) {
    spdlog::error("event=listener_recovery_failed error={}", LogQuote(rebuilt.message()));
    gave_up_ = true;
    deps_.give_up(rebuilt);
    return Outcome::kGaveUp;
  }
  ++recoveries_;
  failed_in_a_row_ = 0;
  spdlog::info("event=listener_rebuilt recoveries={}", recoveries_);
  return Outcome::kRecovered;
}

void ListenerWatchdog::Start() {
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(options_.interval)) {
      if (CheckOnce() == Outcome::kGaveUp) return;
    }
  });
}

void ListenerWatchdog::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace xctl::api
