// What the paper exchange does with a priced order when it arrives, by order
// type, given whether it crosses the latest price (paper has no depth, so an
// order that crosses can always fill in full). The same rules as BloFin
// (index.md, "Place Order", orderType) and the test fake:
//
//   limit      crosses: fills now (taker); else rests (maker when filled)
//   post_only  crosses: canceled, nothing filled (it would take); else rests
//   ioc        crosses: fills now in full; else canceled
//   fok        crosses: fills now in full; else canceled (all or nothing)
//
// Market orders always fill now and are not decided here.
#pragma once

#include <string>

#include "server/model/types.h"

namespace xctl::paper {

enum class Arrival { kFillNow, kRest, kCancel };

struct ArrivalDecision {
  Arrival action = Arrival::kRest;
  // Why a kCancel order was canceled, for the order's reject_reason.
  std::string reason;
};

// `crosses`: a fresh tick lets the order trade now (buy: ask <= price; sell:
// bid >= price). Without a fresh tick the caller refuses ioc and fok (it
// cannot know what would fill) and lets post_only and limit rest.
ArrivalDecision DecideArrival(OrderType type, bool crosses);

}  // namespace xctl::paper
