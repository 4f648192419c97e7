// PriceFeed over real gRPC on loopback: unary errors, several streaming
// clients, stream status elements, cancellation and shutdown.
#include "server/api/price_feed_service.h"

#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;

class StepSource : public PriceSource {
 public:
  absl::string_view name() const override { return "step"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>& pairs) override {
    std::vector<Tick> out;
    ++step;
    for (const auto& p : pairs) {
      if (p == silent_pair) continue;
      Tick t;
      t.pair = p;
      t.last = Decimal::FromInt(1000 + step);
      t.bid = t.last - Decimal::FromInt(1);
      t.ask = t.last + Decimal::FromInt(1);
      t.exchange_time_ms = 1700000000000 + step;
      out.push_back(t);
    }
    return out;
  }
  int step = 0;
  std::string silent_pair;
};

class PriceFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PriceConfig c;
    c.pairs = {"BTC-USDT", "ETH-USDT"};
    c.interval_ms = 100;
    c.stale_after_intervals = 2;
    auto s = std::make_unique<StepSource>();
    source_ = s.get();
    module_ = std::make_unique<PriceModule>(c, std::move(s), clock_);
    service_ = std::make_unique<api::PriceFeedService>(
        *module_, api::PriceFeedService::Options{.heartbeat_interval = absl::Seconds(1)});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::PriceFeed::NewStub(channel_);
  }
  void TearDown() override {
    if (server_) {
      service_->Shutdown();
      server_->Shutdown();
      server_->Wait();
    }
  }

  bool WaitFor(std::function<bool()> cond) {
    for (int i = 0; i < 500 && !cond(); ++i) absl::SleepFor(absl::Milliseconds(10));
    return cond();
  }

  FakeClock clock_;
  StepSource* source_;
  std::unique_ptr<PriceModule> module_;
  std::unique_ptr<api::PriceFeedService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PriceFeed::Stub> stub_;
  int port_ = 0;
};

TEST_F(PriceFeedTest, GetPriceErrorsAreClear) {
  auto get = [&](const std::string& pair, v1::GetPriceResponse* resp) {
    grpc::ClientContext ctx;
    v1::GetPriceRequest req;
    req.set_pair(pair);
    return stub_->GetPrice(&ctx, req, resp);
  };
  v1::GetPriceResponse resp;
  grpc::Status bad = get("btc/usdt", &resp);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status unknown = get("XRP-USDT", &resp);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("BTC-USDT, ETH-USDT"));
  grpc::Status early = get("BTC-USDT", &resp);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(early.error_message(), HasSubstr("no price for BTC-USDT yet"));
  module_->PollOnce();
  ASSERT_TRUE(get("BTC-USDT", &resp).ok());
  EXPECT_EQ(resp.tick().last().value(), "1001");
  EXPECT_EQ(resp.tick().bid().value(), "1000");
  EXPECT_EQ(resp.tick().sequence(), 1u);

  grpc::ClientContext ctx;
  v1::ListPricesRequest list;
  v1::ListPricesResponse listed;
  ASSERT_TRUE(stub_->ListPrices(&ctx, list, &listed).ok());
  EXPECT_EQ(listed.ticks_size(), 2);
}

TEST_F(PriceFeedTest, SeveralClientsGetASnapshotThenEveryUpdateInSequence) {
  module_->PollOnce();
  constexpr int kClients = 3;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::StreamPricesResponse>>> readers;
  for (int i = 0; i < kClients; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    v1::StreamPricesRequest req;
    if (i == 2) req.add_pairs("ETH-USDT");
    readers.push_back(stub_->StreamPrices(contexts.back().get(), req));
  }
  for (auto& r : readers) {
    v1::StreamPricesResponse msg;
    ASSERT_TRUE(r->Read(&msg));
    EXPECT_EQ(msg.sequence(), 1u);
    ASSERT_TRUE(msg.has_snapshot());
  }
  ASSERT_TRUE(WaitFor([&] { return module_->subscriber_count() == kClients; }));
  for (int step = 0; step < 5; ++step) module_->PollOnce();
  for (int i = 0; i < kClients; ++i) {
    uint64_t expected_seq = 2;
    std::string last_price;
    // Reads updates until it has seen the newest price (5 polls: 1006).
    while (last_price != "1006") {
      v1::StreamPricesResponse msg;
      ASSERT_TRUE(readers[i]->Read(&msg));
      EXPECT_EQ(msg.sequence(), expected_seq++) << "client " << i;
      ASSERT_TRUE(msg.has_update());
      for (const auto& t : msg.update().ticks()) {
        if (i == 2) {
          EXPECT_EQ(t.pair(), "ETH-USDT");
        }
        last_price = t.last().value();
      }
    }
  }
  for (auto& c : contexts) c->TryCancel();
  for (auto& r : readers) r->Finish();
  EXPECT_TRUE(WaitFor([&] { return module_->subscriber_count() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return service_->open_streams() == 0; }));
}

TEST_F(PriceFeedTest, AllPairsStreamsShareOneEncodingOfEachBatch) {
  module_->PollOnce();
  constexpr int kClients = 4;
  constexpr int kPolls = 6;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::StreamPricesResponse>>> readers;
  for (int i = 0; i < kClients; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub_->StreamPrices(contexts.back().get(), v1::StreamPricesRequest()));
    v1::StreamPricesResponse msg;
    ASSERT_TRUE(readers.back()->Read(&msg));
    ASSERT_TRUE(msg.has_snapshot());
  }
  ASSERT_TRUE(WaitFor([&] { return module_->subscriber_count() == kClients; }));
  const uint64_t encoded_before = service_->batches_encoded();
  for (int poll = 0; poll < kPolls; ++poll) {
    module_->PollOnce();
    // Every client takes this batch before the next one, so none conflates.
    for (int i = 0; i < kClients; ++i) {
      v1::StreamPricesResponse msg;
      ASSERT_TRUE(readers[i]->Read(&msg));
      EXPECT_EQ(msg.sequence(), static_cast<uint64_t>(poll + 2)) << "client " << i;
      ASSERT_TRUE(msg.has_update()) << msg.DebugString();
      EXPECT_EQ(msg.update().conflated(), 0u);
      ASSERT_EQ(msg.update().ticks_size(), 2);
      for (const v1::Tick& t : msg.update().ticks()) {
        TickPtr latest = module_->Latest(t.pair());
        ASSERT_NE(latest, nullptr);
        EXPECT_EQ(t.last().value(), latest->last.ToString());
        EXPECT_EQ(t.bid().value(), latest->bid->ToString());
        EXPECT_EQ(t.ask().value(), latest->ask->ToString());
        EXPECT_EQ(t.sequence(), latest->sequence);
      }
    }
  }
  // One serialization per published batch, whatever the number of streams.
  EXPECT_EQ(service_->batches_encoded() - encoded_before, static_cast<uint64_t>(kPolls));
  for (auto& c : contexts) c->TryCancel();
  for (auto& r : readers) r->Finish();
}

TEST_F(PriceFeedTest, AStreamThatFallsBehindGetsTheSharedEncodingWithItsConflatedCount) {
  module_->PollOnce();
  grpc::ClientContext ctx;
  auto reader = stub_->StreamPrices(&ctx, v1::StreamPricesRequest());
  v1::StreamPricesResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.has_snapshot());
  ASSERT_TRUE(WaitFor([&] { return module_->subscriber_count() == 1; }));
  const uint64_t encoded_before = service_->batches_encoded();
  // Far more than HTTP/2's flow-control window holds while the client does
  // not read: the stream falls behind and conflates.
  constexpr int kPolls = 5000;
  for (int poll = 0; poll < kPolls; ++poll) module_->PollOnce();
  const TickPtr btc = module_->Latest("BTC-USDT");
  const TickPtr eth = module_->Latest("ETH-USDT");
  uint64_t delivered = 0, conflated = 0, sequence = 1, updates = 0;
  bool caught_up = false;
  while (!caught_up && reader->Read(&msg)) {
    EXPECT_EQ(msg.sequence(), ++sequence);
    if (msg.has_heartbeat()) continue;
    ASSERT_TRUE(msg.has_update()) << msg.DebugString();
    ++updates;
    delivered += msg.update().ticks_size();
    conflated += msg.update().conflated();
    for (const v1::Tick& t : msg.update().ticks()) {
      if (t.pair() == "BTC-USDT" && t.sequence() == btc->sequence) {
        EXPECT_EQ(t.last().value(), btc->last.ToString());
        ASSERT_EQ(msg.update().ticks_size(), 2);
        EXPECT_EQ(msg.update().ticks(1).sequence(), eth->sequence);
        caught_up = true;
      }
    }
  }
  ASSERT_TRUE(caught_up);
  // Every published tick was delivered or counted as conflated, and each
  // update the lagging stream got was a batch's shared encoding (batches
  // replaced before any stream took them are never encoded).
  EXPECT_GT(conflated, 0u);
  EXPECT_EQ(delivered + conflated, 2u * kPolls);
  EXPECT_EQ(service_->batches_encoded() - encoded_before, updates);
  EXPECT_LT(updates, static_cast<uint64_t>(kPolls));
  ctx.TryCancel();
  reader->Finish();
}

TEST_F(PriceFeedTest, ARequestThatIsNotValidProtobufIsInvalidArgument) {
  grpc::ClientContext ctx;
  v1::StreamPricesRequest req;
  req.add_pairs("BTC-\xff\xfe");  // not UTF-8: the server cannot parse it
  auto reader = stub_->StreamPrices(&ctx, req);
  v1::StreamPricesResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("not UTF-8"));
}

TEST_F(PriceFeedTest, UnknownPairsAreAStatusElementAndMalformedOnesAnError) {
  module_->PollOnce();
  {
    grpc::ClientContext ctx;
    v1::StreamPricesRequest req;
    req.add_pairs("BTC-USDT");
    req.add_pairs("DOGE-USDT");
    auto reader = stub_->StreamPrices(&ctx, req);
    v1::StreamPricesResponse msg;
    ASSERT_TRUE(reader->Read(&msg));
    ASSERT_TRUE(msg.has_status());
    EXPECT_EQ(msg.status().code(), "UNKNOWN_PAIR");
    EXPECT_THAT(msg.status().keys(), ::testing::ElementsAre("DOGE-USDT"));
    ASSERT_TRUE(reader->Read(&msg));
    ASSERT_TRUE(msg.has_snapshot());
    ASSERT_EQ(msg.snapshot().ticks_size(), 1);
    EXPECT_EQ(msg.snapshot().ticks(0).pair(), "BTC-USDT");
    ctx.TryCancel();
    reader->Finish();
  }
  grpc::ClientContext ctx;
  v1::StreamPricesRequest req;
  req.add_pairs("BTC-USDT");
  req.add_pairs("not a pair");
  auto reader = stub_->StreamPrices(&ctx, req);
  v1::StreamPricesResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("not a pair"));
}

TEST_F(PriceFeedTest, StaleAndRecoveredPairsAreAnnounced) {
  module_->PollOnce();
  grpc::ClientContext ctx;
  v1::StreamPricesRequest req;
  auto reader = stub_->StreamPrices(&ctx, req);
  v1::StreamPricesResponse msg;
  ASSERT_TRUE(reader->Read(&msg));  // snapshot
  ASSERT_TRUE(WaitFor([&] { return module_->subscriber_count() == 1; }));
  source_->silent_pair = "BTC-USDT";
  clock_.Advance(absl::Milliseconds(201));
  module_->PollOnce();  // ETH updates, BTC goes stale
  bool saw_stale = false;
  while (!saw_stale && reader->Read(&msg)) {
    if (msg.has_status() && msg.status().code() == "STALE") {
      EXPECT_THAT(msg.status().keys(), ::testing::ElementsAre("BTC-USDT"));
      saw_stale = true;
    }
  }
  ASSERT_TRUE(saw_stale);
  source_->silent_pair.clear();
  module_->PollOnce();
  bool saw_recovered = false;
  while (!saw_recovered && reader->Read(&msg)) {
    if (msg.has_status() && msg.status().code() == "RECOVERED") saw_recovered = true;
  }
  EXPECT_TRUE(saw_recovered);
  ctx.TryCancel();
  reader->Finish();
}

TEST_F(PriceFeedTest, AQuietStreamGetsHeartbeats) {
  grpc::ClientContext ctx;
  v1::StreamPricesRequest req;
  auto reader = stub_->StreamPrices(&ctx, req);
  v1::StreamPricesResponse msg;
  ASSERT_TRUE(reader->Read(&msg));  // empty snapshot: no price yet
  EXPECT_EQ(msg.snapshot().ticks_size(), 0);
  ASSERT_TRUE(reader->Read(&msg));  // nothing happens: a heartbeat in ~1-2 s
  EXPECT_TRUE(msg.has_heartbeat());
  EXPECT_EQ(msg.sequence(), 2u);
  ctx.TryCancel();
  reader->Finish();
}

TEST_F(PriceFeedTest, ShutdownFinishesOpenStreamsWithUnavailable) {
  grpc::ClientContext ctx;
  v1::StreamPricesRequest req;
  auto reader = stub_->StreamPrices(&ctx, req);
  v1::StreamPricesResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  absl::Time start = absl::Now();
  service_->Shutdown();
  while (reader->Read(&msg)) {
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(st.error_message(), HasSubstr("shutting down"));
  server_->Shutdown();
  server_->Wait();
  server_.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

// Regression: streams finishing (shutdown) while a write is in flight that
// then fails must still be finished, or Server::Shutdown waits forever.
TEST_F(PriceFeedTest, ShutdownWithManyBusyStreamsCompletes) {
  module_->PollOnce();
  constexpr int kClients = 200;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::StreamPricesResponse>>> readers;
  for (int i = 0; i < kClients; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub_->StreamPrices(contexts.back().get(), v1::StreamPricesRequest()));
  }
  ASSERT_TRUE(WaitFor([&] { return module_->subscriber_count() == kClients; }));
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    while (!stop) module_->PollOnce();
  });
  absl::SleepFor(absl::Milliseconds(200));
  // Clients go away while the server is shutting down with writes in flight.
  std::thread canceller([&] {
    for (auto& c : contexts) c->TryCancel();
  });
  absl::Time start = absl::Now();
  service_->Shutdown();
  std::thread shutdown([&] {
    server_->Shutdown();
    server_->Wait();
  });
  canceller.join();
  shutdown.join();
  stop = true;
  publisher.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  for (auto& r : readers) r->Finish();
  server_.reset();
}

}  // namespace
}  // namespace xctl
