// Command-line numbers for the host tools (see arguments.h).
#include "tinyllama/host/arguments.h"

#include <errno.h>
#include <stdlib.h>

namespace tllama::host {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

ErrorOr<float> parse_float_argument(const char* flag, const char* text, float lo, float hi)
{
    char* end = nullptr;
    errno = 0;
    const float v = strtof(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= lo && v <= hi))
        return Error::make(ErrorCode::UsageError, "%s expects a number in [%g, %g], got '%s'", flag, lo, hi, text);
    return v;
}

ErrorOr<u64> parse_whole_argument(const char* flag, const char* text, u64 max)
{
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || text[0] == '+' || v > max)
        return Error::make(ErrorCode::UsageError, "%s expects a whole number in [0, %llu], got '%s'", flag,
            static_cast<unsigned long long>(max), text);
    return static_cast<u64>(v);
}

}
