#include "server/api/convert.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xctl::api {

void ToProto(Decimal value, v1::Decimal* out) { out->set_value(value.ToString()); }

void ToProto(const std::optional<Decimal>& value, v1::Decimal* out) {
  if (value) {
    out->set_value(value->ToString());
  } else {
    out->Clear();
  }
}

void ToProtoTime(int64_t unix_millis, google::protobuf::Timestamp* out) {
  int64_t seconds = unix_millis / 1000;
  int64_t millis = unix_millis % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(millis * 1'000'000));
}

int64_t FromProtoTime(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1'000'000;
}

void ToProto(const Tick& tick, v1::Tick* out) {
  out->set_pair(tick.pair);
  if (tick.bid) ToProto(*tick.bid, out->mutable_bid());
  if (tick.ask) ToProto(*tick.ask, out->mutable_ask());
  ToProto(tick.last, out->mutable_last());
  ToProtoTime(tick.exchange_time_ms, out->mutable_exchange_time());
  ToProtoTime(tick.receive_time_ms, out->mutable_receive_time());
  out->set_sequence(tick.sequence);
  out->set_stale(tick.stale);
}

absl::StatusOr<Decimal> RequiredDecimal(const v1::Decimal& value,
                                        absl::string_view field) {
  if (value.value().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  auto parsed = Decimal::Parse(value.value());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", parsed.status().message()));
  }
  return *parsed;
}

absl::StatusOr<std::optional<Decimal>> OptionalDecimal(const v1::Decimal& value,
                                                       absl::string_view field) {
  if (value.value().empty()) return std::optional<Decimal>();
  auto parsed = RequiredDecimal(value, field);
  if (!parsed.ok()) return parsed.status();
  return std::optional<Decimal>(*parsed);
}

}  // namespace xctl::api
