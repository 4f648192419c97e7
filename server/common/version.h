// The version of the xctl programs: the CMake project's version and the git
// commit the binary was built from, for --version, the start-up log line and
// the package (docs/operations.md, "Install as a service").
#pragma once

#include <string>

namespace xctl {

// "0.1.0" (CMakeLists.txt, project(... VERSION)).
const char* Version();
// "238cf7f1a2", with "-dirty" when built from uncommitted changes, or
// "unknown" outside a git checkout.
const char* GitCommit();
// "<program> 0.1.0 (git 238cf7f1a2)\n": what --version prints.
std::string VersionLine(const char* program);

}  // namespace xctl
