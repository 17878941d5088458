// Raw DEFLATE (RFC 1951) decoding: the kernel image is stored deflated and unpacked by a
// small stub before the kernel runs (boot/unpack/). Needs no allocator and no C library.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

constexpr i64 inflate_truncated = -1;     // the input ended inside a block
constexpr i64 inflate_bad_code = -2;      // an invalid block type, code or code table
constexpr i64 inflate_bad_distance = -3;  // a match reaches before the start of the output
constexpr i64 inflate_output_full = -4;   // the output does not fit `out_capacity`

// Decodes the raw deflate stream at `in` into `out`; returns the bytes written, or one of
// the negative statuses above.
i64 inflate_raw(const u8* in, usize in_size, u8* out, usize out_capacity);

}
