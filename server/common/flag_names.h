// Abseil flag names use '_'; xctl's programs document them with '-'
// (--price-interval-ms). NormalizeFlagNames rewrites the name part of each
// "--name[=value]" argument so both spellings work; values are untouched and
// nothing after "--" is changed.
#pragma once

#include <string>
#include <vector>

namespace xctl {

std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

}  // namespace xctl
