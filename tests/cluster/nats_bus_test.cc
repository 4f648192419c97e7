// NatsBus against a real nats-server on loopback: round trips, wildcards,
// errors that name the (redacted) URL, subscriptions destroyed during
// traffic and from their own callback, and a NATS restart that the
// connection and its subscriptions survive without being recreated.
#include "server/cluster/nats_bus.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/nats_server.h"

namespace xctl::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using xctl::testing::NatsServer;

// Collects what a subscription receives.
class Inbox {
 public:
  NatsMessageCallback Callback() {
    return [this](absl::string_view subject, absl::string_view payload) {
      absl::MutexLock lock(&mu_);
      messages_.emplace_back(std::string(subject), std::string(payload));
    };
  }
  // Waits until at least n messages arrived.
  bool WaitFor(size_t n, absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return messages_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  std::vector<std::pair<std::string, std::string>> messages() const {
    absl::MutexLock lock(&mu_);
    return messages_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return messages_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> messages_ ABSL_GUARDED_BY(mu_);
};

bool WaitUntil(const std::function<bool()>& cond, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (cond()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return cond();
}

class NatsBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<NatsBus> Connect(const std::string& name, NatsOptions options = {}) {
    options.reconnect_wait = absl::Milliseconds(100);
    options.reconnect_jitter = absl::Milliseconds(10);
    auto bus = NatsBus::Connect(server_->url(), name, options);
    EXPECT_TRUE(bus.ok()) << bus.status();
    return bus.ok() ? *std::move(bus) : nullptr;
  }

  std::unique_ptr<NatsServer> server_;
};

TEST(RedactNatsUrlTest, HidesPasswordsAndTokensInEveryUrl) {
  EXPECT_EQ(RedactNatsUrl("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
  EXPECT_EQ(RedactNatsUrl("nats://user:pa55@h:4222"), "nats://user:***@h:4222");
  EXPECT_EQ(RedactNatsUrl("nats://s3cr3ttoken@h:4222"), "nats://***@h:4222");
  EXPECT_EQ(RedactNatsUrl("nats://a:x@h1:1,nats://tok@h2:2,nats://h3:3"),
            "nats://a:***@h1:1,nats://***@h2:2,nats://h3:3");
  EXPECT_EQ(RedactNatsUrl("tls://u:p@h"), "tls://u:***@h");
}

TEST_F(NatsBusTest, PublishSubscribe_RoundTripsBytesInOrder) {
  auto bus = Connect("round-trip");
  ASSERT_NE(bus, nullptr);
  EXPECT_TRUE(bus->connected());
  EXPECT_EQ(bus->state(), NatsState::kConnected);
  Inbox inbox;
  auto sub = bus->Subscribe("xctl.test.a", inbox.Callback());
  ASSERT_TRUE(sub.ok()) << sub.status();
  ASSERT_TRUE(bus->Flush(absl::Seconds(2)).ok());

  const std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(bus->Publish("xctl.test.a", binary).ok());
  for (int i = 0; i < 99; ++i) {
    ASSERT_TRUE(bus->Publish("xctl.test.a", absl::StrCat("m", i)).ok());
  }
  ASSERT_TRUE(bus->Publish("xctl.test.other", "not for us").ok());
  ASSERT_TRUE(inbox.WaitFor(100));
  auto got = inbox.messages();
  ASSERT_EQ(got.size(), 100u);
  EXPECT_EQ(got[0].first, "xctl.test.a");
  EXPECT_EQ(got[0].second, binary);
  for (int i = 0; i < 99; ++i) EXPECT_EQ(got[i + 1].second, absl::StrCat("m", i));
  // Counted once each callback has returned.
  EXPECT_TRUE(WaitUntil([&] { return (*sub)->delivered() == 100u; }, absl::Seconds(5)))
      << (*sub)->delivered();
}

TEST_F(NatsBusTest, Subscribe_Wildcard_ReceivesEverySubjectItMatches) {
  auto publisher = Connect("pub");
  auto subscriber = Connect("sub");
  ASSERT_NE(publisher, nullptr);
  ASSERT_NE(subscriber, nullptr);
  Inbox inbox;
  auto sub = subscriber->Subscribe("xctl.prices.*", inbox.Callback());
  ASSERT_TRUE(sub.ok()) << sub.status();
  ASSERT_TRUE(subscriber->Flush(absl::Seconds(2)).ok());
  ASSERT_TRUE(publisher->Publish("xctl.prices.BTC-USDT", "1").ok());
  ASSERT_TRUE(publisher->Publish("xctl.batch.prices", "no").ok());
  ASSERT_TRUE(publisher->Publish("xctl.prices.ETH-USDT", "2").ok());
  // A last message the subscription matches: NATS delivers one publisher's
  // messages to a subscription in order, so once it is in, anything wrongly
  // matched before it would be in too.
  ASSERT_TRUE(publisher->Publish("xctl.prices.END", "end").ok());
  ASSERT_TRUE(inbox.WaitFor(3));
  EXPECT_THAT(inbox.messages(),
              ElementsAre(std::make_pair(std::string("xctl.prices.BTC-USDT"), std::string("1")),
                          std::make_pair(std::string("xctl.prices.ETH-USDT"), std::string("2")),
                          std::make_pair(std::string("xctl.prices.END"), std::string("end"))));
}

TEST_F(NatsBusTest, BadSubjects_AreInvalidArgument) {
  auto bus = Connect("bad-subjects");
  ASSERT_NE(bus, nullptr);
  for (const char* subject : {"", "a..b", ".a", "a.", "a.*", "a.>", "has space", "a.b*"}) {
    EXPECT_EQ(bus->Publish(subject, "x").code(), absl::StatusCode::kInvalidArgument) << subject;
  }
  for (const char* subject : {"", "a..b", "a.>.b", "a.b*", "tab\there"}) {
    auto sub = bus->Subscribe(subject, [](absl::string_view, absl::string_view) {});
    EXPECT_EQ(sub.status().code(), absl::StatusCode::kInvalidArgument) << subject;
  }
}

TEST_F(NatsBusTest, Connect_NoServer_IsUnavailableAndNamesTheRedactedUrl) {
  int port = xctl::testing::FreeLoopbackPort();
  std::string url = absl::StrCat("nats://alice:hunter2@127.0.0.1:", port);
  auto bus = NatsBus::Connect(url, "nobody-home");
  ASSERT_FALSE(bus.ok());
  EXPECT_EQ(bus.status().code(), absl::StatusCode::kUnavailable) << bus.status();
  EXPECT_THAT(bus.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", port)));
  EXPECT_THAT(bus.status().message(), HasSubstr("alice:***@"));
  EXPECT_THAT(bus.status().message(), Not(HasSubstr("hunter2")));
}

TEST_F(NatsBusTest, Connect_RetryInitialConnect_ConnectsWhenTheServerComesUp) {
  server_->Stop();
  std::atomic<int> connected_events{0};
  NatsOptions options;
  options.retry_initial_connect = true;
  options.on_state_change = [&](NatsState s) {
    if (s == NatsState::kConnected) connected_events++;
  };
  auto bus = Connect("late", options);
  ASSERT_NE(bus, nullptr);
  EXPECT_FALSE(bus->connected());
  ASSERT_TRUE(server_->Restart().ok());
  EXPECT_TRUE(WaitUntil([&] { return bus->connected(); }, absl::Seconds(10)));
  EXPECT_TRUE(WaitUntil([&] { return connected_events.load() == 1; }, absl::Seconds(5)));
}

TEST_F(NatsBusTest, ClosedBus_RefusesPublishSubscribeAndFlush) {
  auto bus = Connect("closing");
  ASSERT_NE(bus, nullptr);
  bus->Close();
  bus->Close();  // idempotent
  EXPECT_FALSE(bus->connected());
  EXPECT_EQ(bus->Publish("a.b", "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(bus->Subscribe("a.b", [](absl::string_view, absl::string_view) {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(bus->Flush(absl::Seconds(1)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(WaitUntil([&] { return bus->state() == NatsState::kClosed; }, absl::Seconds(5)));
}

// A subscription destroyed while messages pour in: once the destructor
// returns, the callback never runs again, and what it used may be freed.
TEST_F(NatsBusTest, SubscriptionDestroyedDuringTraffic_CallbackNeverRunsAfterwards) {
  auto publisher = Connect("flood");
  auto subscriber = Connect("victim");
  ASSERT_NE(publisher, nullptr);
  ASSERT_NE(subscriber, nullptr);
  std::atomic<bool> stop{false};
  std::thread flood([&] {
    while (!stop.load()) {
      (void)publisher->Publish("xctl.test.flood", "payload");
      std::this_thread::yield();
    }
  });
  for (int round = 0; round < 20; ++round) {
    auto counter = std::make_unique<std::atomic<int>>(0);
    std::atomic<bool> destroyed{false};
    std::atomic<int> after_destroy{0};
    std::atomic<int>* raw = counter.get();
    auto sub = subscriber->Subscribe("xctl.test.flood", [&, raw](absl::string_view,
                                                                 absl::string_view) {
      if (destroyed.load()) after_destroy++;
      raw->fetch_add(1);
      absl::SleepFor(absl::Microseconds(200));  // stay inside the callback a while
      raw->fetch_add(1);
    });
    ASSERT_TRUE(sub.ok()) << sub.status();
    ASSERT_TRUE(WaitUntil([&] { return raw->load() > 4; }, absl::Seconds(5)));
    sub->reset();  // unsubscribe while a callback is likely running
    destroyed = true;
    int even = raw->load();
    EXPECT_EQ(even % 2, 0) << "a callback was still running after the destructor returned";
    counter.reset();  // free what the callback used
    absl::SleepFor(absl::Milliseconds(5));
    EXPECT_EQ(after_destroy.load(), 0);
  }
  stop = true;
  flood.join();
}

TEST_F(NatsBusTest, SubscriptionDestroyedFromItsOwnCallback_DoesNotDeadlock) {
  auto bus = Connect("self-destruct");
  ASSERT_NE(bus, nullptr);
  std::unique_ptr<NatsSubscription> sub;
  absl::Mutex mu;
  int calls = 0;
  bool cancelled = false;
  auto result = bus->Subscribe("xctl.test.self", [&](absl::string_view, absl::string_view) {
    absl::MutexLock lock(&mu);
    ++calls;
    if (sub) {
      sub.reset();  // destroy the subscription from inside its callback
      cancelled = true;
    }
  });
  ASSERT_TRUE(result.ok()) << result.status();
  {
    absl::MutexLock lock(&mu);
    sub = *std::move(result);
  }
  ASSERT_TRUE(bus->Flush(absl::Seconds(2)).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bus->Publish("xctl.test.self", "x").ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        absl::MutexLock lock(&mu);
        return cancelled;
      },
      absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(100));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(calls, 1);
}

TEST_F(NatsBusTest, CallbackThatThrows_IsContainedAndDeliveryGoesOn) {
  auto bus = Connect("thrower");
  ASSERT_NE(bus, nullptr);
  std::atomic<int> calls{0};
  auto sub = bus->Subscribe("xctl.test.throw", [&](absl::string_view, absl::string_view) {
    calls++;
    throw std::runtime_error("boom");
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(bus->Flush(absl::Seconds(2)).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bus->Publish("xctl.test.throw", "x").ok());
  EXPECT_TRUE(WaitUntil([&] { return calls.load() == 3; }, absl::Seconds(5)));
}

// NATS goes away and comes back on the same port: both connections
// reconnect by themselves, each state change is reported once, and the
// subscription made before the outage delivers again without being
// recreated.
TEST_F(NatsBusTest, NatsRestart_ReconnectsAndSubscriptionsResume) {
  absl::Mutex mu;
  std::vector<NatsState> states;
  NatsOptions watched;
  watched.on_state_change = [&](NatsState s) {
    absl::MutexLock lock(&mu);
    states.push_back(s);
  };
  auto subscriber = Connect("subscriber", watched);
  auto publisher = Connect("publisher");
  ASSERT_NE(subscriber, nullptr);
  ASSERT_NE(publisher, nullptr);
  Inbox inbox;
  auto sub = subscriber->Subscribe("xctl.test.restart", inbox.Callback());
  ASSERT_TRUE(sub.ok()) << sub.status();
  ASSERT_TRUE(subscriber->Flush(absl::Seconds(2)).ok());
  ASSERT_TRUE(publisher->Publish("xctl.test.restart", "before").ok());
  ASSERT_TRUE(inbox.WaitFor(1));

  server_->Stop();
  ASSERT_TRUE(WaitUntil([&] { return !subscriber->connected(); }, absl::Seconds(10)));
  EXPECT_TRUE(WaitUntil([&] { return subscriber->state() == NatsState::kDisconnected; },
                        absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(500));  // several failed reconnect attempts
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return subscriber->connected() && publisher->connected(); },
                        absl::Seconds(10)));
  // The reconnected callback runs on libnats' callback thread, maybe after
  // connected() already says so.
  EXPECT_TRUE(WaitUntil([&] { return subscriber->reconnects() >= 1u; }, absl::Seconds(5)));

  // The old subscription is re-registered by the client library; publish
  // until it delivers (the publisher may reconnect first).
  bool resumed = WaitUntil(
      [&] {
        (void)publisher->Publish("xctl.test.restart", "after");
        return inbox.size() >= 2;
      },
      absl::Seconds(10));
  EXPECT_TRUE(resumed) << "no delivery after the restart";
  EXPECT_EQ(inbox.messages().back().second, "after");
  EXPECT_TRUE(WaitUntil([&] { return subscriber->state() == NatsState::kConnected; },
                        absl::Seconds(5)));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(states, ElementsAre(NatsState::kDisconnected, NatsState::kConnected));
}

// While NATS is away, publishes go to the reconnect buffer and reach a
// subscriber of the same connection once it is back.
TEST_F(NatsBusTest, PublishWhileDisconnected_IsBufferedAndDeliveredAfterReconnect) {
  auto bus = Connect("buffered");
  ASSERT_NE(bus, nullptr);
  Inbox inbox;
  auto sub = bus->Subscribe("xctl.test.buffered", inbox.Callback());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(bus->Flush(absl::Seconds(2)).ok());
  server_->Stop();
  ASSERT_TRUE(WaitUntil([&] { return !bus->connected(); }, absl::Seconds(10)));
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(bus->Publish("xctl.test.buffered", absl::StrCat("b", i)).ok());
  }
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(inbox.WaitFor(5, absl::Seconds(10)));
  auto got = inbox.messages();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i].second, absl::StrCat("b", i));
}

TEST_F(NatsBusTest, FullReconnectBuffer_IsUnavailable) {
  NatsOptions options;
  options.reconnect_buffer_bytes = 1024;
  auto bus = Connect("tiny-buffer", options);
  ASSERT_NE(bus, nullptr);
  server_->Stop();
  ASSERT_TRUE(WaitUntil([&] { return !bus->connected(); }, absl::Seconds(10)));
  absl::Status last;
  for (int i = 0; i < 100 && last.ok(); ++i) {
    last = bus->Publish("xctl.test.full", std::string(100, 'x'));
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kUnavailable) << last;
  EXPECT_THAT(last.message(), HasSubstr("reconnect buffer is full"));
}

TEST_F(NatsBusTest, SubscriptionOutlivingTheBus_IsSafeToDestroy) {
  auto bus = Connect("short-lived");
  ASSERT_NE(bus, nullptr);
  auto sub = bus->Subscribe("xctl.test.orphan", [](absl::string_view, absl::string_view) {});
  ASSERT_TRUE(sub.ok());
  bus.reset();
  sub->reset();  // must neither crash nor hang
  SUCCEED();
}

}  // namespace
}  // namespace xctl::cluster
