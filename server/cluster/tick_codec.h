// Tick codec: the bytes of price ticks on NATS (docs/cluster.md). Encodes a
// batch of ticks with a header naming the publishing price leader, its lease
// epoch and a per-subject batch sequence; decodes and validates bytes from
// the network (anything malformed is an INVALID_ARGUMENT status, never a
// crash). Each tick keeps the leader's exchange and receive timestamps, its
// per-pair sequence and its stale flag, so staleness survives the hop.
//
// The wire format is protobuf (proto/xctl/cluster/v1/cluster.proto, internal);
// this header exposes none of it. TickBatchOrder decides which batches a
// follower applies (newest leader epoch, increasing sequence).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/price/tick.h"

namespace xctl::cluster {

// Limits a decoder enforces before it trusts anything.
inline constexpr size_t kMaxTickBatchBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxTicksPerBatch = 20'000;
inline constexpr size_t kMaxPublisherIdBytes = 128;

// Who published a batch, and where it stands in that publisher's stream.
struct TickBatchHeader {
  // Instance id of the price leader (1..128 printable ASCII bytes, no spaces).
  std::string publisher;
  // Epoch of its "price-leader" lease (> 0): a fencing token.
  int64_t leader_epoch = 0;
  // +1 per message on one subject within one epoch, starting at 1.
  uint64_t batch_sequence = 0;
  // When the leader published (UTC ms since epoch).
  int64_t publish_time_ms = 0;

  bool operator==(const TickBatchHeader&) const = default;
};

struct DecodedTickBatch {
  TickBatchHeader header;
  std::vector<Tick> ticks;
};

// Serializes `ticks` (0..kMaxTicksPerBatch, distinct valid pairs) under
// `header`. INVALID_ARGUMENT for an invalid header or tick (the same checks
// the decoder makes, so whatever encodes also decodes).
[[nodiscard]] absl::StatusOr<std::string> EncodeTickBatch(const TickBatchHeader& header,
                                                          absl::Span<const TickPtr> ticks);
[[nodiscard]] absl::StatusOr<std::string> EncodeTickBatch(const TickBatchHeader& header,
                                                          absl::Span<const Tick> ticks);

// Parses and validates bytes from NATS: size limits, protobuf framing, a
// header with publisher, epoch > 0 and sequence > 0, and ticks with valid
// distinct pairs, decimals in plain notation (`last` required, none
// negative) and non-negative timestamps. INVALID_ARGUMENT naming the first
// problem otherwise.
[[nodiscard]] absl::StatusOr<DecodedTickBatch> DecodeTickBatch(absl::string_view bytes);

// A follower's filter over one subject's batches: applies a batch only when
// it comes from the newest leader epoch seen and is newer than the last
// applied one of that epoch. Drops batches of a deposed leader (lower epoch)
// that is still publishing, and duplicates or reordered messages. Not
// thread-safe (one per subscription callback, which is serial).
class TickBatchOrder {
 public:
  enum class Verdict {
    kApply,      // newer: apply it
    kStaleEpoch, // from an older leader epoch: drop
    kDuplicate,  // sequence not above the last applied one: drop
  };

  Verdict Check(const TickBatchHeader& header);

  // Batches of the current epoch skipped over (sequence gaps): messages lost
  // on the way (NATS core is at-most-once) or while disconnected.
  uint64_t gaps() const { return gaps_; }
  int64_t epoch() const { return epoch_; }
  uint64_t last_sequence() const { return last_sequence_; }

 private:
  int64_t epoch_ = 0;
  uint64_t last_sequence_ = 0;
  uint64_t gaps_ = 0;
};

}  // namespace xctl::cluster
