// WriteFence: a store write that commits only while a lease tenure is
// current (docs/cluster.md, "Fencing"; docs/store.md, "Fenced writes").
//
// Cluster mode runs a strategy on the instance holding its lease
// "strategy:<id>" (server/cluster/lease.h). A WriteFence names one tenure of
// such a lease (name, holder, epoch); Store::Transact(fn, &fence) runs the
// check as the FIRST statement of the write transaction, on the same
// session, against the cluster_leases row: the row must still have this
// holder and epoch and must not have expired. Otherwise the transaction is
// rolled back whole (fn does not run) and the status is ABORTED with reason
// LEASE_LOST (server/common/error_reason.h), naming the holder of the row
// when it is someone else.
//
// Race-free on PostgreSQL: the check reads the lease row `FOR SHARE`, which
// the transaction keeps until it commits or rolls back. Every change of the
// row that could start another tenure (LeaseTable's TryAcquire: INSERT ...
// ON CONFLICT DO UPDATE, which locks the conflicting row FOR NO KEY UPDATE;
// Release and Renew: UPDATE) conflicts with that lock, so it waits until the
// write is done, or, when it came first, the write's check waits for it and
// then reads the new holder and epoch (READ COMMITTED re-reads the row after
// the wait) and refuses. A write therefore never commits after another
// tenure began. On SQLite, BEGIN IMMEDIATE takes the database's write lock
// first, so a write transaction and a lease change never overlap at all.
//
// Without a fence (the default, and always without cluster mode) Transact
// runs no extra statement.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/clock.h"

namespace xctl {

struct WriteFence {
  // The lease ("strategy:<id>"), its holder and the epoch of the tenure.
  std::string lease;
  std::string holder;
  int64_t epoch = 0;
  // Expiry is judged by the database clock when null; by clock->NowMillis()
  // when set: the same rule as LeaseTable::Open(url, clock), so a test that
  // moves a FakeClock for its LeaseTable fences writes on the same clock.
  const Clock* clock = nullptr;
  // PostgreSQL: when positive, a fenced transaction left idle longer than
  // this (its process stopped or stalled between two statements) is ended by
  // the server (idle_in_transaction_session_timeout, set for this
  // transaction only), so the locks it holds (the lease row's, its rows')
  // never keep another instance from taking the lease over. Its commit then
  // fails: nothing it wrote is kept.
  absl::Duration idle_timeout = absl::ZeroDuration();

  // "strategy:s1 (holder node-a/strategies, epoch 4)", for messages.
  std::string Describe() const;
};

// ABORTED with reason LEASE_LOST: `fence`'s tenure is over. `now_held_by` is
// the row's holder and epoch when another tenure began (empty when the row
// is gone or simply expired); `why` says what the check found.
[[nodiscard]] absl::Status LeaseLostError(const WriteFence& fence, absl::string_view why);

}  // namespace xctl
