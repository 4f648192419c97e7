#include "server/common/version.h"

#include "xctl_version.h"  // generated (cmake/write_version.cmake)

namespace xctl {

const char* Version() { return XCTL_VERSION; }
const char* GitCommit() { return XCTL_GIT_COMMIT; }

std::string VersionLine(const char* program) {
  return std::string(program) + " " + Version() + " (git " + GitCommit() + ")\n";
}

}  // namespace xctl
