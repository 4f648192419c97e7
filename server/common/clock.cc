#include "server/common/clock.h"

#include "absl/time/clock.h"

namespace xctl {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock& SystemClock() {
  static RealClock* clock = new RealClock();  // never destroyed
  return *clock;
}

}  // namespace xctl
