// File-descriptor limits of xctld (docs/security.md, "Connection floods").
// Every gRPC connection holds a descriptor, so a flood of idle connections
// ends in EMFILE: xctld raises its soft RLIMIT_NOFILE to the hard limit at
// start, and the listener watchdog asks FdsAvailable before it rebuilds a
// listener that stopped accepting (rebuilding while the flood still holds
// every descriptor would only fail again).
#pragma once

#include <cstdint>

namespace xctl::api {

struct FdLimit {
  uint64_t soft_before = 0;  // the soft limit xctld was started with
  uint64_t soft = 0;         // the soft limit now
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (to fs.nr_open when the
// hard limit is unlimited) and logs event=fd_limit with both limits and
// `reserve`, the descriptors kept for the database, BloFin HTTP, NATS and
// the logs (warns when the limit leaves fewer than that for connections).
// Never fails: when the limit cannot be raised it logs why and keeps it.
FdLimit RaiseFdLimit(int reserve);

// Descriptors open in this process (entries of /proc/self/fd); -1 when that
// cannot be read.
int OpenFdCount();

// True when more than `reserve` descriptors are free under the current soft
// limit (read afresh on every call), or when the count cannot be read.
bool FdsAvailable(int reserve);

}  // namespace xctl::api
