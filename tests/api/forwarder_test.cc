// Forwarder (server/api/forwarder.h; docs/cluster.md "Forwarding"; issue
// #18, item 2), over real gRPC servers on loopback: a front instance "c"
// whose PlaceOrder asks the Forwarder first, and owner instances "a" and
// "b" that record what reached them. The caller's credentials and deadline
// reach the owner with the forwarding marker; the owner's answer comes back
// unchanged; an owner that says it is not the owner any more (naming the
// new one) makes the front send the call once more, there, and only once; a
// call that arrives already forwarded is never forwarded again; an owner
// that is down is named in the answer; a strategy with no remote owner is
// answered locally.
#include "server/api/forwarder.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/api/status.h"
#include "server/common/error_reason.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl::api {
namespace {

std::string Md(const grpc::ServerContext& ctx, const std::string& key) {
  auto it = ctx.client_metadata().find(key);
  return it == ctx.client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
}

// An instance's ExchangeControl.PlaceOrder as far as forwarding sees it:
// either the owner (answers with an order id naming itself) or an instance
// that lost the strategy (refuses as a forwarded-to non-owner, naming
// `names`). Records what reached it.
class OwnerService final : public v1::ExchangeControl::Service {
 public:
  explicit OwnerService(std::string node) : node_(std::move(node)) {}
  void RefuseNaming(std::string owner) {
    absl::MutexLock lock(&mu_);
    names_ = std::move(owner);
  }
  void SetDelay(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    delay_ = d;
  }

  grpc::Status PlaceOrder(grpc::ServerContext* ctx, const v1::PlaceOrderRequest* req,
                          v1::PlaceOrderResponse* resp) override {
    absl::Duration delay;
    std::string names;
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      authorization_ = Md(*ctx, "authorization");
      forwarded_by_ = Md(*ctx, kForwardedByMetadata);
      deadline_left_ = absl::FromChrono(ctx->deadline()) - absl::Now();
      delay = delay_;
      names = names_;
    }
    if (delay > absl::ZeroDuration()) {
      const absl::Time until = absl::Now() + delay;
      while (absl::Now() < until && !ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
      absl::MutexLock lock(&mu_);
      saw_cancel_ = ctx->IsCancelled();
    }
    if (!names.empty()) {
      return ToGrpcStatus(WithOwner(
          WithReason(absl::UnavailableError(absl::StrCat("strategy ", req->strategy_id(),
                                                         " runs on instance ", names)),
                     reason::kForwardedToNonOwner),
          names));
    }
    if (req->quantity().value() == "0") {
      return ToGrpcStatus(absl::InvalidArgumentError("quantity: must be positive"));
    }
    resp->mutable_order()->set_id(absl::StrCat("from-", node_));
    resp->mutable_order()->set_strategy_id(req->strategy_id());
    return grpc::Status::OK;
  }

  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::string authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }
  std::string forwarded_by() {
    absl::MutexLock lock(&mu_);
    return forwarded_by_;
  }
  absl::Duration deadline_left() {
    absl::MutexLock lock(&mu_);
    return deadline_left_;
  }
  bool saw_cancel() {
    absl::MutexLock lock(&mu_);
    return saw_cancel_;
  }

 private:
  const std::string node_;
  absl::Mutex mu_;
  std::string names_ ABSL_GUARDED_BY(mu_);
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  std::string forwarded_by_ ABSL_GUARDED_BY(mu_);
  absl::Duration deadline_left_ ABSL_GUARDED_BY(mu_);
  bool saw_cancel_ ABSL_GUARDED_BY(mu_) = false;
};

// The front instance: forwards when the Forwarder says so, else answers
// "local".
class FrontService final : public v1::ExchangeControl::Service {
 public:
  explicit FrontService(Forwarder* forwarder) : forwarder_(forwarder) {}
  grpc::Status PlaceOrder(grpc::ServerContext* ctx, const v1::PlaceOrderRequest* req,
                          v1::PlaceOrderResponse* resp) override {
    if (auto f = MaybeForward(forwarder_, *ctx, req->strategy_id(),
                              &v1::ExchangeControl::Stub::PlaceOrder, *req, resp)) {
      return *f;
    }
    resp->mutable_order()->set_id("local");
    return grpc::Status::OK;
  }

 private:
  Forwarder* forwarder_;
};

struct Server {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
};

Server Serve(grpc::Service* service) {
  Server s;
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &s.port);
  b.RegisterService(service);
  s.server = b.BuildAndStart();
  return s;
}

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_srv_ = Serve(&a_);
    b_srv_ = Serve(&b_);
    ASSERT_GT(a_srv_.port, 0);
    ASSERT_GT(b_srv_.port, 0);
    forwarder_ = std::make_unique<Forwarder>(Forwarder::Options{
        .node_id = "c",
        .remote_owner = [this](absl::string_view id) -> std::optional<RemoteOwner> {
          absl::MutexLock lock(&mu_);
          if (id != "s1" || owner_.empty()) return std::nullopt;
          return RemoteOwner{.node = owner_, .epoch = 7, .address = Address(owner_)};
        },
        .member_address = [this](absl::string_view node) { return Address(std::string(node)); }});
    front_ = std::make_unique<FrontService>(forwarder_.get());
    front_srv_ = Serve(front_.get());
    stub_ = v1::ExchangeControl::NewStub(grpc::CreateChannel(
        front_srv_.address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    front_srv_.server->Shutdown();
    a_srv_.server->Shutdown();
    b_srv_.server->Shutdown();
  }

  std::string Address(const std::string& node) {
    if (node == "a") return a_srv_.address();
    if (node == "b") return b_srv_.address();
    if (node == "gone") return "127.0.0.1:1";  // nothing listens there
    return "";
  }
  void SetOwner(std::string node) {
    absl::MutexLock lock(&mu_);
    owner_ = std::move(node);
  }

  grpc::Status Place(v1::PlaceOrderResponse* resp, absl::Duration deadline = absl::Seconds(5),
                     bool marked = false, const std::string& quantity = "1") {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
    ctx.AddMetadata("authorization", "Bearer trader-token");
    if (marked) ctx.AddMetadata(kForwardedByMetadata, "x");
    v1::PlaceOrderRequest req;
    req.set_strategy_id("s1");
    req.mutable_quantity()->set_value(quantity);
    return stub_->PlaceOrder(&ctx, req, resp);
  }

  OwnerService a_{"a"}, b_{"b"};
  Server a_srv_, b_srv_, front_srv_;
  absl::Mutex mu_;
  std::string owner_ ABSL_GUARDED_BY(mu_) = "a";
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<FrontService> front_;
  std::unique_ptr<v1::ExchangeControl::Stub> stub_;
};

TEST_F(ForwarderTest, SendsTheCallToTheOwnerWithCredentialsDeadlineAndMarker) {
  v1::PlaceOrderResponse resp;
  grpc::Status st = Place(&resp, absl::Seconds(3));
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.order().id(), "from-a");
  EXPECT_EQ(a_.calls(), 1);
  EXPECT_EQ(b_.calls(), 0);
  EXPECT_EQ(a_.authorization(), "Bearer trader-token");
  EXPECT_EQ(a_.forwarded_by(), "c");
  // The caller's 3 s, not the 30 s default.
  EXPECT_LE(a_.deadline_left(), absl::Seconds(3));
  EXPECT_GT(a_.deadline_left(), absl::Seconds(2));
  EXPECT_EQ(forwarder_->stats().forwarded, 1u);

  // The owner's errors come back as they are, details included.
  st = Place(&resp, absl::Seconds(3), false, "0");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "quantity: must be positive");
  ASSERT_TRUE(XctlErrorOf(st).has_value());
  EXPECT_EQ(XctlErrorOf(st)->reason, "INVALID_ARGUMENT");
}

TEST_F(ForwarderTest, AStrategyWithoutARemoteOwnerIsAnsweredLocally) {
  SetOwner("");
  v1::PlaceOrderResponse resp;
  ASSERT_TRUE(Place(&resp).ok());
  EXPECT_EQ(resp.order().id(), "local");
  EXPECT_EQ(a_.calls() + b_.calls(), 0);
}

TEST_F(ForwarderTest, AnOwnershipChangeIsRetriedOnceOnTheNewOwner) {
  a_.RefuseNaming("b");  // a lost s1 to b after the front's last round
  v1::PlaceOrderResponse resp;
  grpc::Status st = Place(&resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.order().id(), "from-b");
  EXPECT_EQ(a_.calls(), 1);
  EXPECT_EQ(b_.calls(), 1);
  EXPECT_EQ(b_.forwarded_by(), "c");
  EXPECT_EQ(b_.authorization(), "Bearer trader-token");
  EXPECT_EQ(forwarder_->stats().retried, 1u);
}

TEST_F(ForwarderTest, RetriedOnlyOnce) {
  a_.RefuseNaming("b");
  b_.RefuseNaming("a");  // ownership moving back and forth: give up after one retry
  v1::PlaceOrderResponse resp;
  grpc::Status st = Place(&resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(XctlErrorOf(st).has_value());
  EXPECT_EQ(XctlErrorOf(st)->reason, reason::kForwardedToNonOwner);
  EXPECT_EQ(XctlErrorOf(st)->owner, "a");
  EXPECT_EQ(a_.calls(), 1);
  EXPECT_EQ(b_.calls(), 1);
}

TEST_F(ForwarderTest, AForwardedCallIsNeverForwardedAgain) {
  v1::PlaceOrderResponse resp;
  grpc::Status st = Place(&resp, absl::Seconds(5), /*marked=*/true);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(st.error_message().find("runs on instance a (lease epoch 7)"), std::string::npos)
      << st.error_message();
  EXPECT_NE(st.error_message().find("not forwarded again"), std::string::npos);
  ASSERT_TRUE(XctlErrorOf(st).has_value());
  EXPECT_EQ(XctlErrorOf(st)->reason, reason::kForwardedToNonOwner);
  EXPECT_EQ(XctlErrorOf(st)->owner, "a");
  EXPECT_EQ(a_.calls(), 0);
  EXPECT_EQ(forwarder_->stats().loops_refused, 1u);
}

TEST_F(ForwarderTest, TheCallersDeadlineEndsTheForwardedCall) {
  a_.SetDelay(absl::Seconds(2));
  v1::PlaceOrderResponse resp;
  const absl::Time start = absl::Now();
  grpc::Status st = Place(&resp, absl::Milliseconds(200));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // The owner's call ended with the caller's deadline, not 2 s later.
  const absl::Time wait = absl::Now() + absl::Seconds(5);
  while (!a_.saw_cancel() && absl::Now() < wait) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(a_.saw_cancel());
  EXPECT_LE(a_.deadline_left(), absl::Milliseconds(200));
}

TEST_F(ForwarderTest, AnOwnerThatIsDownIsNamed) {
  SetOwner("gone");
  v1::PlaceOrderResponse resp;
  grpc::Status st = Place(&resp, absl::Seconds(3));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(st.error_message().find("runs on instance gone (lease epoch 7) at 127.0.0.1:1"),
            std::string::npos)
      << st.error_message();
  ASSERT_TRUE(XctlErrorOf(st).has_value());
  EXPECT_EQ(XctlErrorOf(st)->owner, "gone");
  EXPECT_EQ(forwarder_->stats().unreachable, 1u);
}

}  // namespace
}  // namespace xctl::api
