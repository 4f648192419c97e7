// BlofinWsSource (price.source: blofin-ws): prices pushed by BloFin's public
// WebSocket (index.md, "General Info": wss://openapi.blofin.com/ws/public;
// "WS Tickers Channel"). One connection for every configured pair, one
// subscription per pair on the `tickers` channel, and a thread of its own
// that feeds PriceModule::Ingest (PriceSource::StartPushing) as pushes
// arrive. docs/price.md, "blofin-ws", has the rules; in short:
//
// - On every (re)connect, after subscribing, one REST snapshot (the blofin
//   source's GET /api/v1/market/tickers) so no pair waits for its first push.
//   A tick replaces the source's latest one of its pair only when it is not
//   older (exchange `ts`), so a late snapshot never undoes a push.
// - Keep-alive (index.md, "WebSocket Connection Management"): after
//   `ping_after_ms` without any message the text 'ping' is sent; no message
//   within `ping_after_ms` more means the connection stalled: it is closed and
//   made again.
// - Staleness: the tickers channel pushes when a ticker changes, at most once
//   a second; a quiet pair gets no push. So while the connection is alive
//   (any message, 'pong' included, within the ping deadline), the pairs whose
//   subscription BloFin confirmed are re-ingested with unchanged prices,
//   which only renews their "last seen" time in the PriceModule. A dead or
//   stalled connection renews nothing, and the module marks its pairs stale
//   as for the REST source.
// - Reconnect with a capped exponential back-off on the Clock: 1 s (BloFin
//   allows one new connection a second per IP), doubling up to
//   `backoff_max_ms`; back to 1 s after a connection that got a message.
// - A message that does not parse is logged (event=price_ws_malformed with
//   a reason word, blofin_ws_messages.h) and counted, never used.
// - Funding rates and ListedPairs stay REST (the blofin source's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/common/websocket_client.h"
#include "server/price/blofin_source.h"
#include "server/price/price_source.h"

namespace xctl {

class BlofinWsSource : public PriceSource {
 public:
  struct Options {
    // wss://openapi.blofin.com/ws/public, or ws://127.0.0.1:PORT/ws/public.
    std::string ws_url;
    // Silence (no message) before a 'ping', and the wait for its answer.
    int ping_after_ms = 20'000;
    int connect_timeout_ms = 5000;
    int backoff_min_ms = 1000;
    int backoff_max_ms = 30'000;
    // Renew the pairs' "last seen" at most this often (the poll interval).
    int refresh_ms = 1000;
  };
  struct Stats {
    uint64_t connects = 0;        // connections made (handshake done)
    uint64_t connect_failures = 0;
    uint64_t disconnects = 0;     // connections lost or closed for a stall
    uint64_t stalls = 0;          // of which: no answer to a 'ping'
    uint64_t pushes = 0;          // tickers pushes used
    uint64_t malformed = 0;       // messages dropped as malformed
    uint64_t subscribe_errors = 0;  // "event":"error" answers
    uint64_t pings = 0;
    uint64_t pongs = 0;
    uint64_t snapshots = 0;       // REST snapshots ingested
    uint64_t snapshot_failures = 0;
  };

  // `rest` takes the snapshots and answers ListedPairs and funding rates.
  BlofinWsSource(Options options, std::unique_ptr<BlofinRestSource> rest,
                 Clock& clock = SystemClock());
  ~BlofinWsSource() override;

  absl::string_view name() const override { return "blofin-ws"; }
  // No request: OK while connected, else UNAVAILABLE naming the last error.
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>& pairs) override;
  // REST, as the blofin source (funding on the poll thread, snapshots on the
  // push thread: one REST client, taken in turn).
  absl::StatusOr<std::vector<std::string>> ListedPairs() override;
  bool HasFunding() const override { return true; }
  absl::StatusOr<std::vector<FundingRate>> FetchFundingRates(
      const std::vector<std::string>& pairs) override;

  bool Pushes() const override { return true; }
  void StartPushing(const std::vector<std::string>& pairs, PushSink sink) override;
  void StopPushing() override;

  Stats stats() const;
  // The back-off before connection attempt `attempt` (1 = the first retry).
  static int64_t BackoffMs(const Options& options, int attempt);

 private:
  void Run();
  // One connection, from connect to its end; the reason it ended.
  absl::Status Session(bool* got_message);
  absl::Status ReadLoop(WebSocketClient& ws, bool* got_message);
  void Handle(absl::string_view text);
  void TakeSnapshot();
  // Keeps `ticks` that are not older than the latest of their pair; returns
  // those to ingest.
  std::vector<Tick> Merge(std::vector<Tick> ticks);
  // Ingests the latest tick of every confirmed pair (unchanged prices: only
  // their "last seen" is renewed) when refresh_ms has passed.
  void MaybeRefresh();
  void Count(uint64_t Stats::*field);

  const Options options_;
  absl::Mutex rest_mu_;
  const std::unique_ptr<BlofinRestSource> rest_ ABSL_PT_GUARDED_BY(rest_mu_);
  Clock& clock_;

  // The push thread's own state (only Run and what it calls touch it).
  std::vector<std::string> pairs_;
  absl::flat_hash_set<std::string> configured_;
  PushSink sink_;
  absl::flat_hash_map<std::string, Tick> latest_;
  absl::flat_hash_set<std::string> confirmed_;  // subscription acknowledged
  bool snapshot_pending_ = false;
  int64_t last_refresh_ms_ = 0;  // Clock time

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  WebSocketClient* client_ ABSL_GUARDED_BY(mu_) = nullptr;  // for Interrupt
  std::string error_ ABSL_GUARDED_BY(mu_);                  // "" = healthy
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace xctl
