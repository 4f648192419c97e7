// Internal to NatsBus (nats_bus.h): what its three .cc files share. Included
// only by nats_bus.cc (the connection: library, options, state callbacks,
// publish, flush), nats_subscription.cc (NatsSubscription, its callback box
// and NatsBus::Subscribe) and nats_errors.cc (libnats errors as statuses,
// credentials redacted); never by other files, so <nats/nats.h> stays out of
// every public header.
#pragma once

#include <nats/nats.h>

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/cluster/nats_bus.h"

namespace xctl::cluster {
namespace nats_internal {

// The passwords and tokens inside a (comma-separated) NATS URL.
std::vector<std::string> UrlSecrets(absl::string_view urls);

// `what` (NATS <redacted_url>): libnats' text for `s` with the `secrets`
// removed, as the status its code maps to (INVALID_ARGUMENT, RESOURCE_EXHAUSTED,
// DEADLINE_EXCEEDED, PERMISSION_DENIED, else UNAVAILABLE).
absl::Status StatusFor(natsStatus s, absl::string_view what, const std::string& redacted_url,
                       const std::vector<std::string>& secrets);

}  // namespace nats_internal

// libnats 3.4's reader thread may still hold a cancelled subscription's
// pointer without a reference (natsConn_processMsg finds it, then locks it),
// so destroying it at once races with that thread. Cancelled subscriptions
// are therefore destroyed when their connection is closed (no reader left),
// or at once when it already is.
struct NatsSubscription::Graveyard {
  absl::Mutex mu;
  std::vector<natsSubscription*> buried ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;

  void Bury(natsSubscription* sub) {
    {
      absl::MutexLock lock(&mu);
      if (!closed) {
        buried.push_back(sub);
        return;
      }
    }
    natsSubscription_Destroy(sub);
  }
  // Called once the connection is closed and destroyed.
  void Close() {
    std::vector<natsSubscription*> subs;
    {
      absl::MutexLock lock(&mu);
      closed = true;
      subs.swap(buried);
    }
    for (natsSubscription* sub : subs) natsSubscription_Destroy(sub);
  }
};

}  // namespace xctl::cluster
