// Conversions between the core types (server/common, server/exchange,
// server/price) and the generated protobuf messages. Parsing of client input
// happens here, once, with errors that name the offending field.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/common/decimal.h"
#include "server/price/tick.h"
#include "xctl/v1/prices.pb.h"
#include "xctl/v1/types.pb.h"

namespace xctl::api {

void ToProto(Decimal value, v1::Decimal* out);
void ToProto(const std::optional<Decimal>& value, v1::Decimal* out);  // unset when nullopt
void ToProtoTime(int64_t unix_millis, google::protobuf::Timestamp* out);
int64_t FromProtoTime(const google::protobuf::Timestamp& t);
void ToProto(const Tick& tick, v1::Tick* out);

// A required decimal: INVALID_ARGUMENT "<field>: ..." when unset or malformed.
absl::StatusOr<Decimal> RequiredDecimal(const v1::Decimal& value,
                                        absl::string_view field);
// An optional decimal: nullopt when the value string is empty.
absl::StatusOr<std::optional<Decimal>> OptionalDecimal(const v1::Decimal& value,
                                                       absl::string_view field);

}  // namespace xctl::api
