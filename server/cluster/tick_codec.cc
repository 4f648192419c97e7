#include "server/cluster/tick_codec.h"

#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/common/symbol.h"
#include "xctl/cluster/v1/cluster.pb.h"

namespace xctl::cluster {
namespace {

namespace pb = ::xctl::cluster::v1;

absl::Status CheckHeader(const TickBatchHeader& h) {
  if (h.publisher.empty() || h.publisher.size() > kMaxPublisherIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tick batch: publisher must be 1-", kMaxPublisherIdBytes, " bytes, got ",
        h.publisher.size()));
  }
  for (char c : h.publisher) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          "tick batch: publisher must be printable ASCII without spaces");
    }
  }
  if (h.leader_epoch <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tick batch: leader_epoch must be > 0, got ", h.leader_epoch));
  }
  if (h.batch_sequence == 0) {
    return absl::InvalidArgumentError("tick batch: batch_sequence must be > 0");
  }
  if (h.publish_time_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tick batch: publish_time_ms must be >= 0, got ", h.publish_time_ms));
  }
  return absl::OkStatus();
}

absl::Status CheckTick(const Tick& t, size_t index) {
  if (absl::Status s = ValidateSymbol(t.pair); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("tick ", index, ": ", s.message()));
  }
  auto negative = [](const std::optional<Decimal>& d) { return d && d->is_negative(); };
  if (t.last.is_negative() || negative(t.bid) || negative(t.ask)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tick ", index, " (", t.pair, "): negative price"));
  }
  if (t.exchange_time_ms < 0 || t.receive_time_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tick ", index, " (", t.pair, "): negative timestamp"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Decimal> ParseDecimal(const std::string& text, size_t index,
                                     absl::string_view pair, absl::string_view field) {
  auto d = Decimal::Parse(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("tick ", index, " (", pair, "): ", field,
                                                   " is not a decimal: ", d.status().message()));
  }
  return *d;
}

template <typename Get>
absl::StatusOr<std::string> Encode(const TickBatchHeader& header, size_t n, Get get) {
  if (absl::Status s = CheckHeader(header); !s.ok()) return s;
  if (n > kMaxTicksPerBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("tick batch: ", n, " ticks, at most ", kMaxTicksPerBatch));
  }
  pb::TickBatch msg;
  msg.set_publisher(header.publisher);
  msg.set_leader_epoch(header.leader_epoch);
  msg.set_batch_sequence(header.batch_sequence);
  msg.set_publish_time_ms(header.publish_time_ms);
  msg.mutable_ticks()->Reserve(static_cast<int>(n));
  absl::flat_hash_set<absl::string_view> seen;
  for (size_t i = 0; i < n; ++i) {
    const Tick& t = get(i);
    if (absl::Status s = CheckTick(t, i); !s.ok()) return s;
    if (!seen.insert(t.pair).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tick ", i, ": pair ", t.pair, " appears twice in one batch"));
    }
    pb::Tick* out = msg.add_ticks();
    out->set_pair(t.pair);
    if (t.bid) out->set_bid(t.bid->ToString());
    if (t.ask) out->set_ask(t.ask->ToString());
    out->set_last(t.last.ToString());
    out->set_exchange_time_ms(t.exchange_time_ms);
    out->set_receive_time_ms(t.receive_time_ms);
    out->set_sequence(t.sequence);
    out->set_stale(t.stale);
  }
  std::string bytes;
  if (!msg.SerializeToString(&bytes)) return absl::InternalError("tick batch: cannot serialize");
  if (bytes.size() > kMaxTickBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("tick batch: ", bytes.size(),
                                                   " bytes, at most ", kMaxTickBatchBytes));
  }
  return bytes;
}

}  // namespace

absl::StatusOr<std::string> EncodeTickBatch(const TickBatchHeader& header,
                                            absl::Span<const TickPtr> ticks) {
  for (size_t i = 0; i < ticks.size(); ++i) {
    if (!ticks[i]) return absl::InvalidArgumentError(absl::StrCat("tick ", i, " is null"));
  }
  return Encode(header, ticks.size(), [&](size_t i) -> const Tick& { return *ticks[i]; });
}

absl::StatusOr<std::string> EncodeTickBatch(const TickBatchHeader& header,
                                            absl::Span<const Tick> ticks) {
  return Encode(header, ticks.size(), [&](size_t i) -> const Tick& { return ticks[i]; });
}

absl::StatusOr<DecodedTickBatch> DecodeTickBatch(absl::string_view bytes) {
  if (bytes.size() > kMaxTickBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("tick batch: ", bytes.size(),
                                                   " bytes, at most ", kMaxTickBatchBytes));
  }
  pb::TickBatch msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("tick batch: not a valid xctl.cluster.v1.TickBatch (", bytes.size(),
                     " bytes)"));
  }
  DecodedTickBatch out;
  out.header.publisher = msg.publisher();
  out.header.leader_epoch = msg.leader_epoch();
  out.header.batch_sequence = msg.batch_sequence();
  out.header.publish_time_ms = msg.publish_time_ms();
  if (absl::Status s = CheckHeader(out.header); !s.ok()) return s;
  if (static_cast<size_t>(msg.ticks_size()) > kMaxTicksPerBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("tick batch: ", msg.ticks_size(), " ticks, at most ", kMaxTicksPerBatch));
  }
  out.ticks.reserve(msg.ticks_size());
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < msg.ticks_size(); ++i) {
    const pb::Tick& in = msg.ticks(i);
    size_t index = static_cast<size_t>(i);
    Tick t;
    t.pair = in.pair();
    if (absl::Status s = ValidateSymbol(t.pair); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("tick ", index, ": ", s.message()));
    }
    if (!seen.insert(t.pair).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tick ", index, ": pair ", t.pair, " appears twice in one batch"));
    }
    if (in.last().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tick ", index, " (", t.pair, "): last price missing"));
    }
    auto last = ParseDecimal(in.last(), index, t.pair, "last");
    if (!last.ok()) return last.status();
    t.last = *last;
    if (in.has_bid()) {
      auto bid = ParseDecimal(in.bid(), index, t.pair, "bid");
      if (!bid.ok()) return bid.status();
      t.bid = *bid;
    }
    if (in.has_ask()) {
      auto ask = ParseDecimal(in.ask(), index, t.pair, "ask");
      if (!ask.ok()) return ask.status();
      t.ask = *ask;
    }
    t.exchange_time_ms = in.exchange_time_ms();
    t.receive_time_ms = in.receive_time_ms();
    t.sequence = in.sequence();
    t.stale = in.stale();
    if (absl::Status s = CheckTick(t, index); !s.ok()) return s;
    out.ticks.push_back(std::move(t));
  }
  return out;
}

TickBatchOrder::Verdict TickBatchOrder::Check(const TickBatchHeader& header) {
  if (header.leader_epoch < epoch_) return Verdict::kStaleEpoch;
  if (header.leader_epoch > epoch_) {
    epoch_ = header.leader_epoch;
    last_sequence_ = header.batch_sequence;
    return Verdict::kApply;
  }
  if (header.batch_sequence <= last_sequence_) return Verdict::kDuplicate;
  gaps_ += header.batch_sequence - last_sequence_ - 1;
  last_sequence_ = header.batch_sequence;
  return Verdict::kApply;
}

}  // namespace xctl::cluster
