// StringView: a pointer and a length into someone else's bytes (not NUL-terminated).
//
// The HTTP and JSON parsers hand out views into the buffer they parsed instead of copies;
// the comparisons here are the few that protocol code needs (exact, ASCII case-insensitive,
// prefix).
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

struct StringView {
    const char* data = nullptr;
    usize length = 0;

    constexpr StringView() = default;
    constexpr StringView(const char* bytes, usize size) : data(bytes), length(size) {}
    // From a NUL-terminated literal or string.
    StringView(const char* text);

    bool empty() const { return length == 0; }
    char operator[](usize i) const { return data[i]; }

    bool equals(StringView other) const;
    // ASCII letters compared without case (HTTP header names, "chunked").
    bool equals_ignoring_case(StringView other) const;
    bool starts_with(StringView prefix) const;
    StringView substring(usize start, usize count) const;
    // Without leading and trailing spaces and tabs.
    StringView trimmed() const;
};

}
