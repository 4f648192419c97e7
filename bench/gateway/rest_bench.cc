// REST through xctl-gateway against direct gRPC, the same calls in the same run.
//
// Starts a real xctld (simulated prices every 50 ms, a temp SQLite file, no
// auth tokens: loopback only) and a real xctl-gateway in front of it, then
// times each call both ways:
//   GetPrice       gRPC PriceFeed.GetPrice     vs GET  /v1/prices/BTC-USDT
//   ListPositions  gRPC (5 rows of one strategy) vs GET /v1/positions?strategy_id=lp
//   PlaceOrder     gRPC market order, durable  vs POST /v1/orders (same JSON)
// with 1 client (sequential calls) and with --clients concurrent clients,
// each on its own connection (one gRPC channel or one keep-alive libcurl
// handle per client; the gateway keeps one gRPC connection to xctld). Prints
// calls/s, p50 and p99 latency and REST/gRPC ratios; each side runs --seconds
// per case in 4 slices alternating with the other's, so a busy machine weighs
// on both alike. Then one streaming figure: a gRPC StreamPrices and an SSE
// /v1/stream/prices read side by side for --seconds, ticks received and
// their delay after xctld received them.
// Figures, not pass/fail.
//
//   gateway_rest_bench [--seconds=2] [--clients=8] [--xctld=PATH] [--gateway=PATH]
// Paths default to <build>/server/xctld and <build>/gateway/xctl-gateway next
// to this program's <build>/bench/gateway/.
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <utility>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "tests/support/subprocess.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"

ABSL_FLAG(double, seconds, 2, "seconds each side runs per case");
ABSL_FLAG(int, clients, 8, "concurrent clients of the second round (0 skips it)");
ABSL_FLAG(std::string, xctld, "", "xctld binary (default <build>/server/xctld)");
ABSL_FLAG(std::string, gateway, "", "xctl-gateway binary (default <build>/gateway/xctl-gateway)");

namespace xctl::bench {
namespace {

namespace v1 = ::xctl::v1;
using SteadyClock = std::chrono::steady_clock;
constexpr int kListedStrategyRows = 5;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "gateway_rest_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string BuildPath(const std::string& flag, const std::string& relative) {
  if (!flag.empty()) return flag;
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path().parent_path() / relative).string();
}

// One keep-alive HTTP/1.1 connection (libcurl easy handle reused).
class Http {
 public:
  explicit Http(std::string base) : base_(std::move(base)), curl_(curl_easy_init()) {
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Http::Write);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body_);
    curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
    headers_ = curl_slist_append(nullptr, "Content-Type: application/json");
  }
  ~Http() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }
  // Returns the HTTP status (0 on a transport error); the body in body().
  long Get(const std::string& path) { return Do(path, nullptr); }
  long Post(const std::string& path, const std::string& json) { return Do(path, &json); }
  const std::string& body() const { return body_; }
  CURL* handle() { return curl_; }

  static size_t Write(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }

 private:
  long Do(const std::string& path, const std::string* json) {
    body_.clear();
    const std::string url = base_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    if (json) {
      curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, json->c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(json->size()));
    } else {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    }
    long code = 0;
    if (curl_easy_perform(curl_) != CURLE_OK) return 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }

  std::string base_;
  CURL* curl_;
  curl_slist* headers_ = nullptr;
  std::string body_;
};

// Its own connection per client: distinct channel arguments stop gRPC from
// sharing one subchannel across channels.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address, int client) {
  grpc::ChannelArguments args;
  args.SetInt("xctl.bench.client", client);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// One call; true when it succeeded. i counts the calls of this client.
using Call = std::function<bool(long i)>;
// Makes the calls of client number `client` (its own connection).
using ClientFactory = std::function<Call(int client)>;

struct Figures {
  double calls_per_s = 0, p50_ms = 0, p99_ms = 0;
  long errors = 0;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

struct Case {
  const char* name;
  ClientFactory grpc, rest;
};

// The clients of one transport in one round, and what they measured.
struct Side {
  std::vector<Call> clients;
  std::vector<std::vector<double>> samples;  // ms, per client
  std::vector<long> next;                    // call counter per client
  std::atomic<long> errors{0};
  double seconds = 0;

  Side(const ClientFactory& factory, int n) : samples(n), next(n, 0) {
    for (int c = 0; c < n; ++c) {
      clients.push_back(factory(c));
      for (long i = -1; i >= -5; --i) {  // connect and warm up
        if (!clients.back()(i)) errors++;
      }
    }
  }
  // Every client calls in a loop on its own thread for `duration` seconds.
  void RunSlice(double duration) {
    const auto start = SteadyClock::now();
    const auto end = start + std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(duration));
    std::vector<std::thread> threads;
    for (size_t c = 0; c < clients.size(); ++c) {
      threads.emplace_back([&, c] {
        for (auto t0 = SteadyClock::now(); t0 < end; t0 = SteadyClock::now()) {
          if (!clients[c](next[c]++)) errors++;
          samples[c].push_back(
              std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
        }
      });
    }
    for (auto& t : threads) t.join();
    seconds += std::chrono::duration<double>(SteadyClock::now() - start).count();
  }
  Figures Result() {
    std::vector<double> all;
    for (auto& s : samples) all.insert(all.end(), s.begin(), s.end());
    Figures f;
    f.calls_per_s = seconds > 0 ? static_cast<double>(all.size()) / seconds : 0;
    f.p50_ms = Percentile(all, 0.5);
    f.p99_ms = Percentile(all, 0.99);
    f.errors = errors;
    return f;
  }
};

// gRPC and REST with `clients` clients each, `seconds` each in slices that
// alternate (gRPC, REST, REST, gRPC, ...) so both see the same machine load.
std::pair<Figures, Figures> Measure(const Case& c, int clients, double seconds) {
  constexpr int kSlices = 4;
  Side grpc(c.grpc, clients), rest(c.rest, clients);
  for (int k = 0; k < kSlices; ++k) {
    if (k % 2 == 0) grpc.RunSlice(seconds / kSlices);
    rest.RunSlice(seconds / kSlices);
    if (k % 2 == 1) grpc.RunSlice(seconds / kSlices);
  }
  return {grpc.Result(), rest.Result()};
}

// Parses a REST answer once and checks it holds `member`.
void CheckJson(Http& http, long code, const char* member) {
  rapidjson::Document doc;
  doc.Parse(http.body().c_str());
  if (code != 200 || doc.HasParseError() || !doc.IsObject() || !doc.HasMember(member)) {
    Die("unexpected REST answer (HTTP " + std::to_string(code) + "): " + http.body());
  }
}

std::string OrderJson(const std::string& strategy, long i) {
  return "{\"strategy_id\":\"" + strategy + "\",\"symbol\":\"BTC-USDT\",\"side\":\"" +
         (i % 2 ? "SIDE_SELL" : "SIDE_BUY") +
         "\",\"type\":\"ORDER_TYPE_MARKET\",\"quantity\":{\"value\":\"1\"}}";
}

v1::PlaceOrderRequest OrderProto(const std::string& strategy, long i) {
  v1::PlaceOrderRequest req;
  req.set_strategy_id(strategy);
  req.set_symbol("BTC-USDT");
  req.set_side(i % 2 ? v1::SIDE_SELL : v1::SIDE_BUY);
  req.set_type(v1::ORDER_TYPE_MARKET);
  req.mutable_quantity()->set_value("1");
  return req;
}

std::vector<Case> Cases(const std::string& grpc_addr, const std::string& http_base) {
  auto price_grpc = [=](int c) -> Call {
    auto stub = std::shared_ptr(v1::PriceFeed::NewStub(NewChannel(grpc_addr, c)));
    return [stub](long) {
      grpc::ClientContext ctx;
      v1::GetPriceRequest req;
      req.set_pair("BTC-USDT");
      v1::GetPriceResponse resp;
      return stub->GetPrice(&ctx, req, &resp).ok() && resp.tick().pair() == "BTC-USDT";
    };
  };
  auto positions_grpc = [=](int c) -> Call {
    auto stub = std::shared_ptr(v1::ExchangeControl::NewStub(NewChannel(grpc_addr, c)));
    return [stub](long) {
      grpc::ClientContext ctx;
      v1::ListPositionsRequest req;
      req.set_strategy_id("lp");
      v1::ListPositionsResponse resp;
      return stub->ListPositions(&ctx, req, &resp).ok() &&
             resp.positions_size() == kListedStrategyRows;
    };
  };
  auto order_grpc = [=](int c) -> Call {
    auto stub = std::shared_ptr(v1::ExchangeControl::NewStub(NewChannel(grpc_addr, c)));
    std::string strategy = "ord" + std::to_string(c);
    return [stub, strategy](long i) {
      grpc::ClientContext ctx;
      v1::PlaceOrderResponse resp;
      return stub->PlaceOrder(&ctx, OrderProto(strategy, i), &resp).ok() && resp.fills_size() == 1;
    };
  };
  // REST: the first call of each client checks the JSON too.
  auto rest = [=](std::function<long(Http&, int, long)> call, const char* member) {
    return [=](int c) -> Call {
      auto http = std::make_shared<Http>(http_base);
      return [=](long i) {
        long code = call(*http, c, i);
        if (i == -1) CheckJson(*http, code, member);
        return code == 200;
      };
    };
  };
  return {
      {"GetPrice", price_grpc,
       rest([](Http& h, int, long) { return h.Get("/v1/prices/BTC-USDT"); }, "tick")},
      {"ListPositions", positions_grpc,
       rest([](Http& h, int, long) { return h.Get("/v1/positions?strategy_id=lp"); },
            "positions")},
      {"PlaceOrder", order_grpc,
       rest([](Http& h, int c, long i) {
              return h.Post("/v1/orders", OrderJson("ord" + std::to_string(c), i));
            }, "order")},
  };
}

double WallMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

struct StreamFigures {
  long ticks = 0;
  std::vector<double> delay_ms;  // wall now - xctld's receive_time, per tick
};

// gRPC StreamPrices (every pair) for `seconds`.
StreamFigures ReadGrpcStream(const std::string& address, double seconds) {
  StreamFigures f;
  auto stub = v1::PriceFeed::NewStub(NewChannel(address, 1000));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<long>(seconds * 1000)));
  v1::StreamPricesRequest req;
  auto reader = stub->StreamPrices(&ctx, req);
  v1::StreamPricesResponse msg;
  while (reader->Read(&msg)) {
    if (!msg.has_update()) continue;
    const double now = WallMs();
    for (const v1::Tick& t : msg.update().ticks()) {
      f.ticks++;
      const auto& at = t.receive_time();
      f.delay_ms.push_back(now - (at.seconds() * 1e3 + at.nanos() / 1e6));
    }
  }
  (void)reader->Finish();
  return f;
}

// SSE /v1/stream/prices through the gateway for `seconds`.
StreamFigures ReadSseStream(const std::string& http_base, double seconds) {
  struct State {
    std::string buffer;
    StreamFigures f;
  } state;
  auto on_data = +[](char* data, size_t size, size_t n, void* p) -> size_t {
    auto* s = static_cast<State*>(p);
    s->buffer.append(data, size * n);
    const double now = WallMs();
    for (size_t end; (end = s->buffer.find("\n\n")) != std::string::npos;) {
      std::string event = s->buffer.substr(0, end);
      s->buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) continue;
      rapidjson::Document doc;
      doc.Parse(event.c_str() + 6);
      if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("update")) continue;
      const auto& update = doc["update"];
      if (!update.HasMember("ticks")) continue;
      for (const auto& t : update["ticks"].GetArray()) {
        s->f.ticks++;
        absl::Time at;
        std::string err;
        if (t.HasMember("receive_time") &&
            absl::ParseTime(absl::RFC3339_full, t["receive_time"].GetString(), &at, &err)) {
          s->f.delay_ms.push_back(now - absl::ToUnixMicros(at) / 1e3);
        }
      }
    }
    return size * n;
  };
  CURL* curl = curl_easy_init();
  const std::string url = http_base + "/v1/stream/prices";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(seconds * 1000));
  curl_easy_perform(curl);  // ends with CURLE_OPERATION_TIMEDOUT, as intended
  curl_easy_cleanup(curl);
  return state.f;
}

std::string Load() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void Run() {
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const int clients = absl::GetFlag(FLAGS_clients);
  const std::string dir = testing::MakeTempDir("gateway-bench");
  std::ofstream(dir + "/xctl.yaml") << R"(price:
  {source: simulated, pairs: [BTC-USDT, ETH-USDT, SOL-USDT], interval_ms: 50}
strategies:
  - {id: lp, type: external, pairs: [BTC-USDT, ETH-USDT], starting_balance: "1000000"}
)" << [&] {
    std::string s;
    for (int c = 0; c < std::max(clients, 1); ++c) {
      s += "  - {id: ord" + std::to_string(c) +
           ", type: external, pairs: [BTC-USDT], starting_balance: \"1000000\"}\n";
    }
    return s;
  }();
  testing::Subprocess xctld({BuildPath(absl::GetFlag(FLAGS_xctld), "server/xctld"),
                             "--config=" + dir + "/xctl.yaml", "--db=sqlite:" + dir + "/x.db",
                             "--listen=127.0.0.1:0", "--port-file=" + dir + "/xctld.port"},
                            dir + "/xctld");
  auto port = testing::WaitForFileLine(dir + "/xctld.port", absl::Seconds(30));
  if (!port) Die("xctld did not start: " + xctld.Stderr());
  const std::string grpc_addr = "127.0.0.1:" + *port;
  testing::Subprocess gateway(
      {BuildPath(absl::GetFlag(FLAGS_gateway), "gateway/xctl-gateway"), "--listen",
       "127.0.0.1:0", "--grpc", grpc_addr, "--port-file", dir + "/gateway.port"},
      dir + "/gateway");
  auto http_port = testing::WaitForFileLine(dir + "/gateway.port", absl::Seconds(30));
  if (!http_port) Die("xctl-gateway did not start: " + gateway.Stderr());
  const std::string http_base = "http://127.0.0.1:" + *http_port;

  // Wait for the first prices, then give "lp" its 5 position rows.
  Http setup(http_base);
  for (int i = 0;
       setup.Get("/v1/prices/BTC-USDT") != 200 || setup.Get("/v1/prices/ETH-USDT") != 200; ++i) {
    if (i > 300) Die("no price after 30 s: " + setup.body());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int i = 0; i < 7; ++i) {  // BTC: buy sell buy sell buy sell buy -> 3 closed + 1 open
    if (setup.Post("/v1/orders", OrderJson("lp", i)) != 200) Die("setup order: " + setup.body());
  }
  std::string eth = OrderJson("lp", 0);  // ETH: buy -> 1 open
  eth.replace(eth.find("BTC-USDT"), 8, "ETH-USDT");
  if (setup.Post("/v1/orders", eth) != 200) Die("setup order: " + setup.body());

  std::printf("REST via xctl-gateway vs direct gRPC, %.1f s per side and case; %u cores, load %s\n",
              seconds, std::thread::hardware_concurrency(), Load().c_str());
  std::printf("%-14s %7s | %10s %8s %8s | %10s %8s %8s | %9s %9s %9s\n", "call", "clients",
              "gRPC /s", "p50 ms", "p99 ms", "REST /s", "p50 ms", "p99 ms", "REST/gRPC",
              "p50 ratio", "p99 ratio");
  std::vector<int> rounds = {1};
  if (clients > 1) rounds.push_back(clients);
  for (const Case& c : Cases(grpc_addr, http_base)) {
    for (int n : rounds) {
      auto [g, r] = Measure(c, n, seconds);
      std::printf("%-14s %7d | %10.0f %8.3f %8.3f | %10.0f %8.3f %8.3f | %9.2f %9.2f %9.2f\n",
                  c.name, n, g.calls_per_s, g.p50_ms, g.p99_ms, r.calls_per_s, r.p50_ms, r.p99_ms,
                  r.calls_per_s / g.calls_per_s, r.p50_ms / g.p50_ms, r.p99_ms / g.p99_ms);
      if (g.errors || r.errors) std::printf("  errors: gRPC %ld, REST %ld\n", g.errors, r.errors);
      std::fflush(stdout);
    }
  }

  // Streams side by side over the same window (3 pairs every 50 ms).
  StreamFigures sse;
  std::thread sse_thread([&] { sse = ReadSseStream(http_base, seconds); });
  StreamFigures grpc = ReadGrpcStream(grpc_addr, seconds);
  sse_thread.join();
  std::printf("StreamPrices   gRPC %5.0f ticks/s, delay p50 %.2f ms p99 %.2f ms |"
              " SSE %5.0f ticks/s,"
              " delay p50 %.2f ms p99 %.2f ms | SSE/gRPC ticks %.2f\n",
              grpc.ticks / seconds, Percentile(grpc.delay_ms, 0.5), Percentile(grpc.delay_ms, 0.99),
              sse.ticks / seconds, Percentile(sse.delay_ms, 0.5), Percentile(sse.delay_ms, 0.99),
              grpc.ticks ? static_cast<double>(sse.ticks) / grpc.ticks : 0.0);
  std::printf("load at the end: %s\n", Load().c_str());

  gateway.Signal(SIGTERM);
  xctld.Signal(SIGTERM);
  (void)gateway.Wait(absl::Seconds(10));
  (void)xctld.Wait(absl::Seconds(30));
}

}  // namespace
}  // namespace xctl::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  xctl::bench::Run();
  curl_global_cleanup();
  return 0;
}
