// Value codecs the repositories share (server/store/repositories.h): stored
// decimals read back, nullable columns bound for writing, and the four TP/SL
// columns of orders and positions. Internal to server/store/.
#pragma once

#include <soci/soci.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/common/decimal.h"
#include "server/common/status_macros.h"
#include "server/model/types.h"

namespace xctl::store_internal {

// A stored decimal column read back; DATA_LOSS naming `column` when it does
// not parse.
absl::StatusOr<Decimal> ParseStored(const std::string& s, absl::string_view column);

// A nullable decimal column, bound for writing.
struct NullableText {
  std::string value;
  soci::indicator ind = soci::i_null;
  NullableText() = default;
  explicit NullableText(const std::optional<Decimal>& d) {
    if (d) {
      value = d->ToString();
      ind = soci::i_ok;
    }
  }
  explicit NullableText(const std::optional<std::string>& s) {
    if (s) {
      value = *s;
      ind = soci::i_ok;
    }
  }
};

// A nullable integer column, bound for writing.
struct NullableInt {
  long long value = 0;
  soci::indicator ind = soci::i_null;
  NullableInt() = default;
  explicit NullableInt(const std::optional<int64_t>& v) {
    if (v) {
      value = *v;
      ind = soci::i_ok;
    }
  }
};

// The four nullable TP/SL columns that orders and positions share.
constexpr char kTriggerColumns[] =
    "tp_trigger_price, tp_order_price, sl_trigger_price, sl_order_price";

// The TP/SL columns of one row: bound for writing from the two legs, read
// back into them.
struct TriggerColumns {
  std::string value[4];
  soci::indicator ind[4] = {soci::i_null, soci::i_null, soci::i_null, soci::i_null};

  TriggerColumns() = default;
  TriggerColumns(const std::optional<TriggerOrder>& tp, const std::optional<TriggerOrder>& sl) {
    Set(0, tp);
    Set(2, sl);
  }

  void Into(soci::details::prepare_temp_type& p) {
    for (int i = 0; i < 4; ++i) p, soci::into(value[i], ind[i]);
  }

  // Reads back the two legs; an order price without its trigger is data loss.
  absl::Status To(absl::string_view table, std::optional<TriggerOrder>* tp,
                  std::optional<TriggerOrder>* sl) const {
    XCTL_ASSIGN_OR_RETURN(*tp, Get(0, table, "tp"));
    XCTL_ASSIGN_OR_RETURN(*sl, Get(2, table, "sl"));
    return absl::OkStatus();
  }

 private:
  void Set(int i, const std::optional<TriggerOrder>& t) {
    if (!t) return;
    value[i] = t->trigger_price.ToString();
    ind[i] = soci::i_ok;
    if (t->order_price) {
      value[i + 1] = t->order_price->ToString();
      ind[i + 1] = soci::i_ok;
    }
  }

  absl::StatusOr<std::optional<TriggerOrder>> Get(int i, absl::string_view table,
                                                  absl::string_view leg) const {
    if (ind[i] != soci::i_ok) {
      if (ind[i + 1] == soci::i_ok) {
        return absl::DataLossError(absl::StrCat("stored ", table, ".", leg,
                                                "_order_price has no trigger price"));
      }
      return std::optional<TriggerOrder>();
    }
    TriggerOrder t;
    XCTL_ASSIGN_OR_RETURN(t.trigger_price,
                          ParseStored(value[i], absl::StrCat(table, ".", leg, "_trigger_price")));
    if (ind[i + 1] == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal px,
                            ParseStored(value[i + 1], absl::StrCat(table, ".", leg, "_order_price")));
      t.order_price = px;
    }
    return std::optional<TriggerOrder>(t);
  }
};

}  // namespace xctl::store_internal
