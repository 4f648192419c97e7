#include "server/exchange/paper/arrival.h"

namespace xctl::paper {

ArrivalDecision DecideArrival(OrderType type, bool crosses) {
  switch (type) {
    case OrderType::kPostOnly:
      if (crosses) {
        return {Arrival::kCancel,
                "post-only order would take liquidity at the latest price: canceled, nothing "
                "filled"};
      }
      return {Arrival::kRest, ""};
    case OrderType::kIoc:
      if (crosses) return {Arrival::kFillNow, ""};
      return {Arrival::kCancel,
              "immediate-or-cancel order did not cross the latest price: canceled, nothing filled"};
    case OrderType::kFok:
      if (crosses) return {Arrival::kFillNow, ""};
      return {Arrival::kCancel,
              "fill-or-kill order could not be filled in full at the latest price: canceled, "
              "nothing filled"};
    case OrderType::kMarket:
      return {Arrival::kFillNow, ""};
    case OrderType::kLimit:
      break;
  }
  return {crosses ? Arrival::kFillNow : Arrival::kRest, ""};
}

}  // namespace xctl::paper
