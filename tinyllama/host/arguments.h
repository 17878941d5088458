// Host-only: the numbers the command-line tools take (bareflow-host, gen-model), checked
// whole: a flag's value that is not entirely a number in range is a UsageError naming the
// flag, the range and what was given.
#pragma once

#include "kernel_lib/base/error.h"

namespace tllama::host {

// A decimal or scientific float in [lo, hi].
kl::ErrorOr<float> parse_float_argument(const char* flag, const char* text, float lo, float hi);

// A decimal whole number in [0, max] (no sign, no hex or octal prefixes).
kl::ErrorOr<u64> parse_whole_argument(const char* flag, const char* text, u64 max);

}
