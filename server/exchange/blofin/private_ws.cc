#include "server/exchange/blofin/private_ws.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/signer.h"

namespace xctl::blofin {

BlofinPrivateWs::BlofinPrivateWs(PrivateWsOptions options, BlofinCredentials credentials,
                                 Listener* listener, const Clock& clock)
    : options_(std::move(options)),
      credentials_(std::move(credentials)),
      listener_(listener),
      clock_(clock) {
  status_ = WithReason(absl::UnavailableError("the private WebSocket is not connected yet"),
                       reason::kExchangeUnavailable);
}

BlofinPrivateWs::~BlofinPrivateWs() { Stop(); }

void BlofinPrivateWs::SetStopping(bool stopping) {
  absl::MutexLock lock(&mu_);
  stopping_ = stopping;
  if (stopping && client_ != nullptr) client_->Interrupt();
}

void BlofinPrivateWs::Start() {
  if (thread_.joinable()) return;
  SetStopping(false);
  thread_ = std::thread([this] { Run(); });
}

void BlofinPrivateWs::Stop() {
  SetStopping(true);
  if (thread_.joinable()) thread_.join();
  ready_ = false;
}

bool BlofinPrivateWs::Ready() const { return ready_.load(); }

std::string BlofinPrivateWs::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

absl::Status BlofinPrivateWs::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

BlofinPrivateWs::Stats BlofinPrivateWs::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void BlofinPrivateWs::Count(uint64_t Stats::*field) {
  absl::MutexLock lock(&mu_);
  stats_.*field += 1;
}

void BlofinPrivateWs::SetState(absl::string_view state, absl::Status status) {
  absl::MutexLock lock(&mu_);
  state_ = std::string(state);
  status_ = std::move(status);
}

int64_t BlofinPrivateWs::BackoffMs(int attempt) const {
  const int64_t floor = std::max(options_.backoff_min_ms, 1);
  const int64_t cap = std::max<int64_t>(options_.backoff_max_ms, floor);
  const int shift = std::clamp(attempt - 1, 0, 30);
  return std::min<int64_t>(cap, floor << shift);
}

std::string BlofinPrivateWs::KeyTail() const {
  const std::string& key = credentials_.api_key.value();
  return key.size() <= 4 ? "***" : absl::StrCat("***", key.substr(key.size() - 4));
}

bool BlofinPrivateWs::WaitBeforeAttempt(int attempt) {
  absl::MutexLock lock(&mu_);
  if (attempt > 0 && !stopping_) {
    const int64_t wait_ms =
        state_ == "login_refused" ? options_.backoff_max_ms : BackoffMs(attempt);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    clock_.AwaitWithDeadline(mu_, absl::Condition(&stop),
                             clock_.Now() + absl::Milliseconds(wait_ms));
  }
  return !stopping_;
}

bool BlofinPrivateWs::Attach(WebSocketClient* ws) {
  absl::MutexLock lock(&mu_);
  if (ws != nullptr && stopping_) return false;
  client_ = ws;
  return true;
}

void BlofinPrivateWs::Run() {
  // Failed attempts since the last connection that got ready.
  for (int attempt = 0; WaitBeforeAttempt(attempt);) {
    bool was_ready = false;
    const absl::Status end = Session(&was_ready);
    ready_ = false;
    if (!WaitBeforeAttempt(0)) return;  // stopping: no state change
    if (ReasonOf(end) != std::optional<std::string>(reason::kExchangeRejected)) {
      SetState("down", WithReason(absl::UnavailableError(absl::StrCat(
                                      "BloFin's private WebSocket: ", end.message())),
                                  reason::kExchangeUnavailable));
    }
    spdlog::warn("event=blofin_ws_private_down key={} error={}", KeyTail(),
                 LogQuote(end.message()));
    attempt = was_ready ? 1 : attempt + 1;
  }
}

absl::Status BlofinPrivateWs::Session(bool* was_ready) {
  WebSocketClient ws(WebSocketClient::Options{.connect_timeout_ms = options_.connect_timeout_ms,
                                              .write_timeout_ms = options_.connect_timeout_ms});
  if (!Attach(&ws)) return absl::CancelledError("stopping");
  absl::Status end = ws.Connect(options_.url);
  Count(end.ok() ? &Stats::connects : &Stats::connect_failures);
  if (end.ok()) end = Serve(ws, was_ready);
  Attach(nullptr);
  return end;
}

absl::Status BlofinPrivateWs::Serve(WebSocketClient& ws, bool* was_ready) {
  absl::Status end = Handshake(ws);
  if (end.ok()) {
    *was_ready = true;
    Count(&Stats::ready);
    SetState("ready", absl::OkStatus());
    ready_ = true;
    spdlog::info("event=blofin_ws_private_ready key={} url={}", KeyTail(), options_.url);
    listener_->OnPrivateReady();
    end = Follow(ws);
  }
  Count(&Stats::disconnects);
  ws.Close().IgnoreError();
  return end;
}

absl::Status BlofinPrivateWs::Handshake(WebSocketClient& ws) {
  XCTL_RETURN_IF_ERROR(
      ws.SendText(WsLoginRequest(credentials_, clock_.NowMillis(), NewNonce())));
  const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.handshake_timeout_ms);
  bool logged_in = false;
  absl::flat_hash_set<std::string> acked;
  while (acked.size() < std::size(kWsPrivateChannels)) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat(logged_in ? "no subscription ack" : "no login answer", " within ",
                       options_.handshake_timeout_ms, " ms"));
    }
    XCTL_ASSIGN_OR_RETURN(std::string text, ws.ReadText(left));
    std::optional<WsPrivateMessage> m = Dispatch(text);
    if (!m) continue;
    using Kind = WsPrivateMessage::Kind;
    if (m->kind == Kind::kError && !logged_in) {
      Count(&Stats::login_refusals);
      absl::Status refused = WithReason(
          absl::FailedPreconditionError(absl::StrCat(
              "BloFin refused the private WebSocket login (code ", m->code, ": ", m->msg,
              "); check the API key, secret and passphrase. Orders are followed by REST polling "
              "meanwhile")),
          reason::kExchangeRejected);
      SetState("login_refused", refused);
      return refused;
    }
    if (m->kind == Kind::kError) {
      return absl::UnavailableError(
          absl::StrCat("BloFin refused the subscription (code ", m->code, ": ", m->msg, ")"));
    }
    if (m->kind == Kind::kLogin && !logged_in) {
      if (m->code != "0") {
        return absl::UnavailableError(absl::StrCat("login answered code ", m->code));
      }
      logged_in = true;
      Count(&Stats::logins);
      XCTL_RETURN_IF_ERROR(ws.SendText(WsPrivateSubscribeRequest()));
    }
    if (m->kind == Kind::kSubscribed && logged_in) acked.insert(m->channel);
  }
  return absl::OkStatus();
}

absl::Status BlofinPrivateWs::Follow(WebSocketClient& ws) {
  const absl::Duration quiet = absl::Milliseconds(options_.ping_after_ms);
  int unanswered = 0;  // 'ping's sent since the last message
  for (;;) {
    absl::StatusOr<std::string> text = ws.ReadText(quiet);
    if (text.ok()) {
      unanswered = 0;
      Dispatch(*text);
    } else if (text.status().code() != absl::StatusCode::kDeadlineExceeded) {
      return text.status();
    } else if (unanswered > 0) {
      Count(&Stats::stalls);
      return absl::UnavailableError(
          absl::StrCat("stalled: no 'pong' within ", options_.ping_after_ms, " ms"));
    } else {
      XCTL_RETURN_IF_ERROR(ws.SendText("ping"));
      Count(&Stats::pings);
      ++unanswered;
    }
  }
}

std::optional<WsPrivateMessage> BlofinPrivateWs::Dispatch(absl::string_view text) {
  absl::StatusOr<WsPrivateMessage> m = ParseWsPrivateMessage(text);
  if (!m.ok()) {
    Count(&Stats::malformed);
    spdlog::warn("event=blofin_ws_private_malformed bytes={} error={}", text.size(),
                 LogQuote(m.status().message()));
    return std::nullopt;
  }
  using Kind = WsPrivateMessage::Kind;
  if (m->kind == Kind::kOrders || m->kind == Kind::kPositions || m->kind == Kind::kAccount) {
    Count(&Stats::pushes);
    listener_->OnPrivatePush(*m);
  }
  return *std::move(m);
}

}  // namespace xctl::blofin
