#include "server/api/fd_limit.h"

#include <dirent.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "server/common/log.h"

namespace xctl::api {
namespace {

uint64_t NrOpen() {
  uint64_t n = 0;
  std::ifstream("/proc/sys/fs/nr_open") >> n;
  return n > 0 ? n : 1024 * 1024;
}

}  // namespace

FdLimit RaiseFdLimit(int reserve) {
  struct rlimit now {};
  getrlimit(RLIMIT_NOFILE, &now);
  FdLimit result{.soft_before = now.rlim_cur, .soft = now.rlim_cur, .hard = now.rlim_max};
  struct rlimit want = now;
  want.rlim_cur = now.rlim_max == RLIM_INFINITY ? NrOpen() : now.rlim_max;
  if (want.rlim_cur > now.rlim_cur) {
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
      result.soft = want.rlim_cur;
    } else {
      spdlog::warn("event=fd_limit_not_raised soft={} hard={} error={}", now.rlim_cur,
                   now.rlim_max, LogQuote(std::strerror(errno)));
    }
  }
  spdlog::info("event=fd_limit soft_before={} soft={} hard={} reserve={}", result.soft_before,
               result.soft, result.hard, reserve);
  if (result.soft <= static_cast<uint64_t>(2 * reserve)) {
    spdlog::warn("event=fd_limit_low soft={} reserve={} note={}", result.soft, reserve,
                 LogQuote("few descriptors for connections: raise the hard limit "
                          "(LimitNOFILE= in the systemd unit, or ulimit -Hn)"));
  }
  return result;
}

int OpenFdCount() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor of `dir` itself
}

bool FdsAvailable(int reserve) {
  struct rlimit now {};
  const int open = OpenFdCount();
  if (open < 0 || getrlimit(RLIMIT_NOFILE, &now) != 0) return true;
  return static_cast<uint64_t>(open) + static_cast<uint64_t>(reserve) < now.rlim_cur;
}

}  // namespace xctl::api
