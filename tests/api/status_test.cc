// ToGrpcStatus: code and message kept, and the details every client can
// decode (google.rpc.Status in the grpc-status-details-bin trailer): the
// reason (the module's, else the code's name), BloFin's code, RetryInfo where
// retrying helps and BadRequest when the message names the field.
#include "server/api/status.h"

#include "absl/strings/cord.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"

namespace xctl::api {
namespace {

google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(status.error_details()));
  return details;
}

template <typename T>
std::optional<T> Find(const google::rpc::Status& details) {
  for (const auto& any : details.details()) {
    T message;
    if (any.UnpackTo(&message)) return message;
  }
  return std::nullopt;
}

TEST(ToGrpcStatus, KeepsCodeAndMessageAndSendsTheModulesReason) {
  grpc::Status st = ToGrpcStatus(WithReason(
      absl::FailedPreconditionError("insufficient margin: the order needs 12 USDT"),
      reason::kInsufficientMargin));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(), "insufficient margin: the order needs 12 USDT");
  google::rpc::Status details = Details(st);
  EXPECT_EQ(details.code(), 9);
  EXPECT_EQ(details.message(), st.error_message());
  auto info = Find<google::rpc::ErrorInfo>(details);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "INSUFFICIENT_MARGIN");
  EXPECT_EQ(info->domain(), "xctl.dev");
  EXPECT_FALSE(Find<google::rpc::RetryInfo>(details).has_value());
}

TEST(ToGrpcStatus, WithoutAReasonTheCodesNameIsTheReason) {
  auto info = Find<google::rpc::ErrorInfo>(Details(ToGrpcStatus(absl::NotFoundError("x"))));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "NOT_FOUND");
}

TEST(ToGrpcStatus, BlofinsCodeIsMetadataAndUnavailableSaysRetry) {
  absl::Status st = absl::UnavailableError("BloFin did not answer");
  st.SetPayload("blofin_code", absl::Cord("152407"));
  google::rpc::Status details = Details(ToGrpcStatus(WithReason(st, reason::kExchangeUnavailable)));
  auto info = Find<google::rpc::ErrorInfo>(details);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "EXCHANGE_UNAVAILABLE");
  EXPECT_EQ(info->metadata().at("blofin_code"), "152407");
  auto retry = Find<google::rpc::RetryInfo>(details);
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->retry_delay().seconds(), 1);
}

TEST(ToGrpcStatus, AnInvalidArgumentNamingItsFieldIsAFieldViolation) {
  auto bad = Find<google::rpc::BadRequest>(
      Details(ToGrpcStatus(absl::InvalidArgumentError("quantity: must be greater than 0"))));
  ASSERT_TRUE(bad.has_value());
  ASSERT_EQ(bad->field_violations_size(), 1);
  EXPECT_EQ(bad->field_violations(0).field(), "quantity");
  EXPECT_EQ(bad->field_violations(0).description(), "must be greater than 0");
  EXPECT_FALSE(Find<google::rpc::BadRequest>(
                   Details(ToGrpcStatus(absl::InvalidArgumentError("two words: no field"))))
                   .has_value());
}

TEST(ToGrpcStatus, OkStaysOkWithoutDetails) {
  grpc::Status st = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(st.ok());
  EXPECT_TRUE(st.error_details().empty());
  EXPECT_TRUE(WithReason(absl::OkStatus(), reason::kPriceStale).ok());
}

}  // namespace
}  // namespace xctl::api
