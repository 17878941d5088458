// Writing JSON strings: the `@error`, `@stats` and `@profile` lines are JSON objects.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

// Escapes `text` for use inside a JSON string (quotes, backslashes, control characters;
// bytes >= 0x80 pass through, so UTF-8 stays UTF-8). Output is NUL-terminated and
// truncated to `size`; returns the length the full result needs.
usize json_escape(const char* text, char* out, usize size);

}
