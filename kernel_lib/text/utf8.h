// UTF-8 checks for text that crosses the network: JSON input must be well-formed UTF-8,
// JSON output must stay well-formed even when the model emits a character byte by byte.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::utf8 {

// The length (1..4) of the well-formed UTF-8 sequence at the start of [p, p + available),
// or 0 when it is not one (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF) or is cut short by `available`.
u32 sequence_length(const u8* p, usize available);

// How many leading bytes of [p, p + length) can be passed on now without splitting a
// character: all of them, except a well-formed but incomplete sequence at the very end,
// which waits for the bytes that complete it. (Malformed bytes are not held back: the JSON
// writer replaces them.)
usize complete_prefix(const u8* p, usize length);

// Appends the UTF-8 encoding of `code_point` (at most U+10FFFF) to `out`; returns the byte
// count (1..4), or 0 for a surrogate or a value out of range.
u32 encode(u32 code_point, u8* out);

}
