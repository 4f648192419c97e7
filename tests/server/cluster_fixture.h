// ClusterFixture: the setting of the cluster end-to-end tests. A PostgreSQL
// database made for the test, a nats-server, a fake BloFin whose BTC-USDT
// price moves every 50 ms (so every poll changes it), and N xctld in cluster
// mode reading prices from that BloFin, started one after the other (the
// first runs the migrations alone).
#pragma once

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/server/running_xctld.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_databases.h"

namespace xctl::testing {

class ClusterFixture : public ::testing::Test {
 protected:
  // Starts everything; instance i is node<i>, its folder a temp dir named
  // `name`<i>, and `config` is added to its xctl.yaml. Skips without
  // PostgreSQL (fails when it is required).
  void StartCluster(int nodes, const std::string& name, const std::string& config,
                    int interval_ms) {
    db_ = std::make_unique<TestDatabase>("postgresql");
    XCTL_REQUIRE_DATABASE(*db_);
    ASSERT_TRUE(blofin_.ok());
    ASSERT_TRUE(SetPrice(1));
    auto nats = NatsServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status();
    nats_ = *std::move(nats);
    for (int i = 0; i < nodes; ++i) {
      const std::string dir = MakeTempDir(absl::StrCat(name, i));
      std::ofstream(dir + "/xctl.yaml") << "key_file: " << dir << "/xctl.key\n" << config;
      nodes_.push_back(std::make_unique<RunningXctld>(
          std::vector<std::string>{
              "--config=" + dir + "/xctl.yaml", "--db=" + DbUrlOf(i),
              "--cluster=" + nats_->url(), absl::StrCat("--node-id=node", i),
              "--price-source=blofin", "--blofin-url=" + blofin_.base_url(),
              "--pairs=BTC-USDT", absl::StrCat("--price-interval-ms=", interval_ms),
              // Faster than BloFin's 500 a minute allows: a local fake.
              "--blofin-requests-per-minute=100000"},
          dir));
      ASSERT_TRUE(nodes_.back()->ok()) << nodes_.back()->process().Stderr();
    }
    mover_ = std::thread([this] {
      for (int i = 2; !stop_mover_; ++i) {
        SetPrice(i);
        absl::SleepFor(absl::Milliseconds(50));
      }
    });
  }

  // The database URL instance `node` is started with (a test may route one
  // through a proxy it can cut); db_ exists when this is called.
  virtual std::string DbUrlOf(int /*node*/) { return db_->url(); }

  // Stops the price mover and every instance still running.
  void TearDown() override {
    stop_mover_ = true;
    if (mover_.joinable()) mover_.join();
    for (auto& n : nodes_) {
      if (n && n->ok()) n->Stop();
    }
  }

  // BTC-USDT at 60000 + i (bid), 60001 + i (ask).
  bool SetPrice(int i) {
    return blofin_.SetTickers(absl::StrCat(R"({"BTC-USDT":{"bid":")", 60000 + i, R"(","ask":")",
                                           60001 + i, R"(","last":")", 60000 + i, R"("}})"));
  }

  FakeBlofin blofin_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<NatsServer> nats_;
  std::vector<std::unique_ptr<RunningXctld>> nodes_;
  std::atomic<bool> stop_mover_{false};
  std::thread mover_;
};

}  // namespace xctl::testing
