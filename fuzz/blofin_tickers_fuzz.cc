// Fuzzes ParseBlofinTickers (server/price/blofin_market_json.h): the body of
// BloFin's GET /api/v1/market/tickers, for the pairs BTC-USDT, ETH-USDT and
// SOL-USDT.
//
// Invariants: errors are UNAVAILABLE or RESOURCE_EXHAUSTED (code 429); every
// tick is for a requested pair listed in the body's data array, with last > 0,
// bid/ask > 0 when present and never a crossed book, and every price prints and
// parses back to itself. At start, a 1 MiB deep body must not overflow the
// stack.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "rapidjson/document.h"
#include "server/price/blofin_market_json.h"

using xctl_fuzz::CheckRoundTrip;
using xctl_fuzz::Q;
using xctl_fuzz::Units;

// Once per process: a body nested deeper than any -max_len input can be. A
// parser that recurses per level overflows the stack here (it did, until the
// iterative parse); one that does not answers with an error.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string deep = "{\"code\":\"0\",\"data\":" + std::string(1 << 20, '[');
  auto ticks = xctl::ParseBlofinTickers(deep, {"BTC-USDT"});
  FUZZ_CHECK(!ticks.ok(), "accepted 1M unclosed '['");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> kPairs = {"BTC-USDT", "ETH-USDT", "SOL-USDT"};
  absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto ticks = xctl::ParseBlofinTickers(body, kPairs);
  if (!ticks.ok()) {
    absl::StatusCode code = ticks.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kUnavailable ||
                   code == absl::StatusCode::kResourceExhausted,
               ticks.status().ToString());
    FUZZ_CHECK(!ticks.status().message().empty(), "empty error message");
    return 0;
  }

  // The body parsed; count the entries of "data" independently.
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  FUZZ_CHECK(!doc.HasParseError() && doc.IsObject(), "accepted a body that is not a JSON object");
  auto it = doc.FindMember("data");
  FUZZ_CHECK(it != doc.MemberEnd() && it->value.IsArray(), "accepted a body without a data array");
  FUZZ_CHECK(ticks->size() <= it->value.Size(),
             std::to_string(ticks->size()) + " ticks from " + std::to_string(it->value.Size()) +
                 " entries");

  for (const xctl::Tick& t : *ticks) {
    bool wanted = false;
    for (const auto& p : kPairs) wanted |= t.pair == p;
    FUZZ_CHECK(wanted, "tick for a pair not asked for: " + Q(t.pair));
    FUZZ_CHECK(t.last.is_positive(), t.pair + ": last " + Units(t.last));
    CheckRoundTrip(t.last, "last");
    if (t.bid) {
      FUZZ_CHECK(t.bid->is_positive(), t.pair + ": bid " + Units(*t.bid));
      CheckRoundTrip(*t.bid, "bid");
    }
    if (t.ask) {
      FUZZ_CHECK(t.ask->is_positive(), t.pair + ": ask " + Units(*t.ask));
      CheckRoundTrip(*t.ask, "ask");
    }
    if (t.bid && t.ask) {
      FUZZ_CHECK(*t.bid <= *t.ask, t.pair + ": crossed book kept: bid " + Units(*t.bid) +
                                       " > ask " + Units(*t.ask));
    }
    FUZZ_CHECK(t.receive_time_ms == 0 && t.sequence == 0 && !t.stale,
               "fields the PriceModule owns were set");
  }
  return 0;
}
