// Fuzzes DecodeTickBatch (server/cluster/tick_codec.h): the bytes a cluster
// instance takes from NATS (the price leader's tick batches).
//
// Input: the raw message payload.
//
// Invariants: errors are INVALID_ARGUMENT with a message; a decoded batch
// has a publisher, epoch > 0, sequence > 0, at most kMaxTicksPerBatch ticks
// with distinct pairs and non-negative prices; and it encodes again to bytes
// that decode to the same batch (what the decoder accepts, the encoder
// accepts: no batch that one instance would take and another refuse).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "fuzz_check.h"
#include "server/cluster/tick_codec.h"

using xctl::Tick;
using xctl::cluster::DecodeTickBatch;
using xctl::cluster::EncodeTickBatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto batch = DecodeTickBatch(input);
  if (!batch.ok()) {
    FUZZ_CHECK(batch.status().code() == absl::StatusCode::kInvalidArgument,
               batch.status().ToString());
    FUZZ_CHECK(!batch.status().message().empty(), "an error without a message");
    return 0;
  }
  const auto& h = batch->header;
  FUZZ_CHECK(!h.publisher.empty() && h.leader_epoch > 0 && h.batch_sequence > 0,
             "accepted header publisher=" + xctl_fuzz::Q(h.publisher));
  FUZZ_CHECK(batch->ticks.size() <= xctl::cluster::kMaxTicksPerBatch, "too many ticks");
  absl::flat_hash_set<std::string> pairs;
  for (const Tick& t : batch->ticks) {
    FUZZ_CHECK(pairs.insert(t.pair).second, "duplicate pair " + xctl_fuzz::Q(t.pair));
    FUZZ_CHECK(!t.last.is_negative(), "negative last");
    FUZZ_CHECK(!t.bid || !t.bid->is_negative(), "negative bid");
    FUZZ_CHECK(!t.ask || !t.ask->is_negative(), "negative ask");
  }
  auto again = EncodeTickBatch(h, batch->ticks);
  FUZZ_CHECK(again.ok(), "decoded but does not encode: " + again.status().ToString());
  auto round = DecodeTickBatch(*again);
  FUZZ_CHECK(round.ok(), "re-encoded bytes do not decode: " + round.status().ToString());
  FUZZ_CHECK(round->header == h, "header changed in a round trip");
  FUZZ_CHECK(round->ticks.size() == batch->ticks.size(), "tick count changed");
  for (size_t i = 0; i < round->ticks.size(); ++i) {
    const Tick& a = batch->ticks[i];
    const Tick& b = round->ticks[i];
    FUZZ_CHECK(a.pair == b.pair && a.last == b.last && a.bid == b.bid && a.ask == b.ask &&
                   a.exchange_time_ms == b.exchange_time_ms && a.sequence == b.sequence &&
                   a.stale == b.stale,
               "tick " + xctl_fuzz::Q(a.pair) + " changed in a round trip");
  }
  return 0;
}
