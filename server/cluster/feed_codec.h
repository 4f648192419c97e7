// Feed codec: the bytes of position and KPI updates on NATS (docs/cluster.md,
// "Streams", "Wire format"). Encodes one strategy's changed (or complete)
// position rows, or its KPI figures, with a header naming the publishing node,
// its incarnation and a per-kind sequence; decodes and validates bytes from
// the network (anything malformed is an INVALID_ARGUMENT status, never a
// crash). ClusterFeed (cluster_feed.h) sends and receives these messages.
//
// The wire format is protobuf (proto/xctl/cluster/v1/cluster.proto, internal);
// this header exposes none of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/control/control_feed.h"

namespace xctl::cluster {

// ---- Wire format (proto/xctl/cluster/v1/cluster.proto) ----

inline constexpr size_t kMaxFeedMessageBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxPositionsPerMessage = 10'000;

// Who published a message, where it stands in that publisher's stream, and
// which strategy it is about.
struct FeedMessageHeader {
  std::string publisher;      // node id, 1-128 printable ASCII bytes
  uint64_t incarnation = 0;   // > 0, random per ClusterFeed run
  uint64_t sequence = 0;      // > 0, +1 per message per kind (positions / KPIs)
  int64_t publish_time_ms = 0;
  std::string strategy_id;    // a valid strategy id
  bool full_state = false;    // a periodic refresh of the whole strategy
  int64_t owner_epoch = 0;    // >= 0: the publisher's lease epoch (0: unknown)
};

// Changed position rows of one strategy, or its complete open set
// (full_state). Every row's strategy_id must be the header's.
struct PositionMessage {
  FeedMessageHeader header;
  std::vector<PositionView> positions;
};

// The KPI figures of one strategy. `kpis.kind` is kStrategy and `kpis.name`
// the header's strategy id.
struct KpiMessage {
  FeedMessageHeader header;
  KpiView kpis;
};

// INVALID_ARGUMENT naming the first problem (bad header, a row of another
// strategy, negative quantity, too many rows, ...).
[[nodiscard]] absl::StatusOr<std::string> EncodePositionMessage(const PositionMessage& message);
[[nodiscard]] absl::StatusOr<std::string> EncodeKpiMessage(const KpiMessage& message);
// Bytes are hostile: size limit, protobuf framing, then every field checked.
// INVALID_ARGUMENT naming the first problem; never crashes.
[[nodiscard]] absl::StatusOr<PositionMessage> DecodePositionMessage(absl::string_view bytes);
[[nodiscard]] absl::StatusOr<KpiMessage> DecodeKpiMessage(absl::string_view bytes);

// The rule for the text fields of a message (publisher, exchange, strategy
// type) and for ClusterFeed's node id: 0-128 printable ASCII bytes without
// spaces, 1-128 when `required`. INVALID_ARGUMENT starting with `field`.
[[nodiscard]] absl::Status CheckFeedText(absl::string_view text, absl::string_view field,
                                         bool required);

}  // namespace xctl::cluster
