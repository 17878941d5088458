// Raw LZMA1 decoding and the x86 BCJ decode filter: the kernel image is stored as LZMA
// with the x86 branch filter in front (scripts/pack-kernel, python's lzma module) and
// unpacked by a small stub before the kernel runs (boot/unpack/). Needs no allocator and
// no C library; the probability model (about 28 KiB) lives on the caller's stack.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

// The three LZMA parameters that shape the probability model. The classic .lzma header
// stores them in one byte, (pb * 5 + lp) * 9 + lc.
struct LzmaProperties {
    u8 lc;  // literal context bits: how many high bits of the previous byte pick a literal coder
    u8 lp;  // literal position bits: how many low bits of the position pick a literal coder
    u8 pb;  // position bits: how many low bits of the position select match and length models
};

// LZMA1 allows lc <= 8, lp <= 4, pb <= 4; like LZMA2 we also require lc + lp <= 4, which
// bounds the literal coders (0x300 probabilities each) to 16 and the stack use to 28 KiB.
constexpr u32 lzma_max_lc_plus_lp = 4;
constexpr u32 lzma_max_pb = 4;

constexpr i64 lzma_truncated = -1;       // the input ended before the end marker
constexpr i64 lzma_corrupt = -2;         // a bad first byte, or the range coder did not end clean
constexpr i64 lzma_bad_distance = -3;    // a match reaches before the start of the output
constexpr i64 lzma_output_full = -4;     // the output does not fit `out_capacity`
constexpr i64 lzma_bad_properties = -5;  // lc, lp or pb out of the supported range

// Splits the classic properties byte; false when it is out of range (see above).
bool lzma_properties_from_byte(u8 byte, LzmaProperties& properties);

// Decodes the raw LZMA1 stream at `in` (no header: the properties come separately) into
// `out`; returns the bytes written, or one of the negative statuses above. The stream must
// end with the end-of-payload marker, which liblzma's raw LZMA1 encoder always writes, so
// that a truncated input is always detected; every input byte must be used.
i64 lzma_decode_raw(const u8* in, usize in_size, const LzmaProperties& properties, u8* out, usize out_capacity);

// Undoes liblzma's x86 BCJ filter (start offset 0) in place: CALL and JMP rel32 targets
// that the encoder made absolute, for better matches, become relative again.
void x86_bcj_decode(u8* data, usize size);

}
