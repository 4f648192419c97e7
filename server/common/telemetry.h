// Telemetry: what the core modules measure while they work (durations of
// price fetches and store transactions, tick-to-strategy latency, orders and
// fills), reported through one interface so that no module depends on a
// metrics library. xctld's Prometheus endpoint implements it
// (server/metrics/prometheus_telemetry.h; docs/operations.md, "Monitoring");
// everything else gets NoTelemetry(), which does nothing.
//
// Every method is called on the reporting module's own threads, often on
// hot paths: implementations must be thread-safe, must not block for long
// and must never call back into a module.
#pragma once

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace xctl {

class Telemetry {
 public:
  virtual ~Telemetry() = default;

  // One fetch of the price source, `ok` or failed (the price poll thread).
  virtual void PriceFetch(absl::Duration took, bool ok) {}
  // From the price module publishing a tick to a price-driven strategy's
  // OnTick starting (strategy manager; one sample per tick per strategy).
  virtual void TickToStrategy(absl::Duration latency) {}
  // One write transaction of the store, committed or rolled back, from
  // BEGIN to COMMIT (or to the rollback).
  virtual void StoreTransaction(absl::Duration took, bool committed) {}
  // A trading call answered by a strategy's exchange: `mode` is "paper" or
  // "live", `call` "place" or "close", `result` "ok" or the error's stable
  // reason (server/common/error_reason.h), e.g. "INSUFFICIENT_MARGIN".
  virtual void Order(absl::string_view mode, absl::string_view call, absl::string_view result) {}
  // `count` fills recorded for a strategy in `mode` ("paper" or "live").
  virtual void Fills(absl::string_view mode, int count) {}
};

// The Telemetry that reports nothing; lives for the whole process.
Telemetry& NoTelemetry();

}  // namespace xctl
