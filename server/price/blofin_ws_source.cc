#include "server/price/blofin_ws_source.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/price/blofin_ws_messages.h"

namespace xctl {

BlofinWsSource::BlofinWsSource(Options options, std::unique_ptr<BlofinRestSource> rest,
                               Clock& clock)
    : options_(std::move(options)), rest_(std::move(rest)), clock_(clock) {}

BlofinWsSource::~BlofinWsSource() { StopPushing(); }

int64_t BlofinWsSource::BackoffMs(const Options& options, int attempt) {
  int64_t ms = std::max(options.backoff_min_ms, 1);
  for (int i = 1; i < attempt && ms < options.backoff_max_ms; ++i) ms *= 2;
  return std::min<int64_t>(ms, std::max(options.backoff_max_ms, options.backoff_min_ms));
}

absl::StatusOr<std::vector<Tick>> BlofinWsSource::Fetch(const std::vector<std::string>&) {
  absl::MutexLock lock(&mu_);
  if (error_.empty()) return std::vector<Tick>();
  return absl::UnavailableError(error_);
}

absl::StatusOr<std::vector<std::string>> BlofinWsSource::ListedPairs() {
  absl::MutexLock lock(&rest_mu_);
  return rest_->ListedPairs();
}

absl::StatusOr<std::vector<FundingRate>> BlofinWsSource::FetchFundingRates(
    const std::vector<std::string>& pairs) {
  absl::MutexLock lock(&rest_mu_);
  return rest_->FetchFundingRates(pairs);
}

void BlofinWsSource::StartPushing(const std::vector<std::string>& pairs, PushSink sink) {
  if (thread_.joinable()) return;
  pairs_ = pairs;
  configured_ = absl::flat_hash_set<std::string>(pairs.begin(), pairs.end());
  sink_ = std::move(sink);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void BlofinWsSource::StopPushing() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (client_ != nullptr) client_->Interrupt();
  }
  if (thread_.joinable()) thread_.join();
}

BlofinWsSource::Stats BlofinWsSource::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void BlofinWsSource::Count(uint64_t Stats::*field) {
  absl::MutexLock lock(&mu_);
  ++(stats_.*field);
}

void BlofinWsSource::Run() {
  int attempt = 0;  // failed attempts since the last connection that worked
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (attempt > 0) {
        const absl::Time until =
            clock_.Now() + absl::Milliseconds(BackoffMs(options_, attempt));
        auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
        clock_.AwaitWithDeadline(mu_, absl::Condition(&stop), until);
      }
      if (stopping_) return;
    }
    bool got_message = false;
    absl::Status end = Session(&got_message);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      error_ = absl::StrCat("blofin-ws: ", end.message());
    }
    spdlog::warn("event=price_ws_disconnected url={} error={}", options_.ws_url,
                 LogQuote(end.message()));
    attempt = got_message ? 1 : attempt + 1;
  }
}

absl::Status BlofinWsSource::Session(bool* got_message) {
  WebSocketClient ws(WebSocketClient::Options{.connect_timeout_ms = options_.connect_timeout_ms,
                                              .write_timeout_ms = options_.connect_timeout_ms});
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    client_ = &ws;
  }
  absl::Status end = ws.Connect(options_.ws_url);
  if (!end.ok()) {
    Count(&Stats::connect_failures);
  } else {
    Count(&Stats::connects);
    spdlog::info("event=price_ws_connected url={} pairs={}", options_.ws_url, pairs_.size());
    confirmed_.clear();
    for (const std::string& request : BlofinWsSubscribeRequests(pairs_)) {
      end = ws.SendText(request);
      if (!end.ok()) break;
    }
    if (end.ok()) {
      {
        absl::MutexLock lock(&mu_);
        error_.clear();
      }
      TakeSnapshot();
      end = ReadLoop(ws, got_message);
    }
    Count(&Stats::disconnects);
    ws.Close().IgnoreError();
  }
  absl::MutexLock lock(&mu_);
  client_ = nullptr;
  return end;
}

absl::Status BlofinWsSource::ReadLoop(WebSocketClient& ws, bool* got_message) {
  const absl::Duration ping_after = absl::Milliseconds(options_.ping_after_ms);
  bool ping_sent = false;
  while (true) {
    absl::StatusOr<std::string> text = ws.ReadText(ping_after);
    if (text.ok()) {
      *got_message = true;
      ping_sent = false;
      Handle(*text);
      continue;
    }
    if (text.status().code() != absl::StatusCode::kDeadlineExceeded) return text.status();
    if (ping_sent) {
      Count(&Stats::stalls);
      return absl::UnavailableError(absl::StrCat("no answer to 'ping' within ",
                                                 options_.ping_after_ms, " ms (stalled)"));
    }
    // index.md, "WebSocket Connection Management": no message for N s (N <
    // 30), send 'ping'; no 'pong' within N s, reconnect.
    XCTL_RETURN_IF_ERROR(ws.SendText(kBlofinWsPing));
    Count(&Stats::pings);
    ping_sent = true;
    if (snapshot_pending_) TakeSnapshot();
  }
}

void BlofinWsSource::Handle(absl::string_view text) {
  absl::StatusOr<BlofinWsMessage> message = ParseBlofinWsMessage(text);
  if (!message.ok()) {
    Count(&Stats::malformed);
    spdlog::warn("event=price_ws_malformed reason={} bytes={} error={}",
                 BlofinWsMalformedReason(message.status()), text.size(),
                 LogQuote(message.status().message()));
    return;
  }
  switch (message->kind) {
    case BlofinWsMessage::Kind::kPong:
      Count(&Stats::pongs);
      break;
    case BlofinWsMessage::Kind::kSubscribed:
      if (configured_.contains(message->inst_id)) confirmed_.insert(message->inst_id);
      break;
    case BlofinWsMessage::Kind::kUnsubscribed:
      confirmed_.erase(message->inst_id);
      spdlog::warn("event=price_ws_unsubscribed pair={}", message->inst_id);
      break;
    case BlofinWsMessage::Kind::kError:
      Count(&Stats::subscribe_errors);
      spdlog::warn("event=price_ws_error code={} msg={}", LogQuote(message->code),
                   LogQuote(message->msg));
      break;
    case BlofinWsMessage::Kind::kTickers: {
      if (!configured_.contains(message->inst_id)) break;
      Count(&Stats::pushes);
      confirmed_.insert(message->inst_id);  // a push proves the subscription
      std::vector<Tick> fresh = Merge(std::move(message->ticks));
      if (!fresh.empty()) sink_(std::move(fresh));
      break;
    }
  }
  MaybeRefresh();
}

void BlofinWsSource::TakeSnapshot() {
  absl::StatusOr<std::vector<Tick>> ticks = [&] {
    absl::MutexLock lock(&rest_mu_);
    return rest_->Fetch(pairs_);
  }();
  if (!ticks.ok()) {
    Count(&Stats::snapshot_failures);
    snapshot_pending_ = true;  // again at the next 'ping'
    spdlog::warn("event=price_ws_snapshot_failed error={}", LogQuote(ticks.status().message()));
    return;
  }
  Count(&Stats::snapshots);
  snapshot_pending_ = false;
  std::vector<Tick> fresh = Merge(*std::move(ticks));
  if (!fresh.empty()) sink_(std::move(fresh));
}

std::vector<Tick> BlofinWsSource::Merge(std::vector<Tick> ticks) {
  std::vector<Tick> out;
  const int64_t now = clock_.NowMillis();
  for (Tick& tick : ticks) {
    if (!configured_.contains(tick.pair)) continue;
    if (tick.exchange_time_ms == 0) tick.exchange_time_ms = now;
    auto it = latest_.find(tick.pair);
    if (it != latest_.end() && tick.exchange_time_ms < it->second.exchange_time_ms) {
      continue;  // older than what is known (a snapshot behind a push)
    }
    latest_[tick.pair] = tick;
    out.push_back(std::move(tick));
  }
  return out;
}

void BlofinWsSource::MaybeRefresh() {
  const int64_t now = clock_.NowMillis();
  if (now - last_refresh_ms_ < options_.refresh_ms) return;
  last_refresh_ms_ = now;
  std::vector<Tick> ticks;
  for (const std::string& pair : pairs_) {
    auto it = latest_.find(pair);
    if (it != latest_.end() && confirmed_.contains(pair)) ticks.push_back(it->second);
  }
  if (!ticks.empty()) sink_(std::move(ticks));
}

}  // namespace xctl
