// Context-mixing compression, for the kernel image (kernel.bin = unpacker stub + packed
// kernel; boot/unpack/, boot/tools/pack-kernel.main.cpp).
//
// The kernel image is coded one bit at a time: nine models each guess the next bit from a
// different context (the previous byte, the previous two, sparse picks among the last
// four, the current word, and three from an x86 length decoder run over the bytes so far:
// which field of which instruction the byte is, with and without the opcode, and with the
// opcode and the previous byte), each refined by an adaptive map that
// knows how many bits its counter has seen, a match model guesses from the longest
// earlier match, a small neural mixer weighs their guesses by how well each has done in
// similar situations, an adaptive map refines the result, and a binary arithmetic coder
// spends -log2(p) bits on each bit. The decoder runs the same predictor over the bytes it
// has restored, so encoder and decoder share every line of it (cm.cpp). On the kernel this
// packed 7 % tighter than LZMA, and 12 % more since (boot/README.md); the price is decoding
// time (about 2.4 billion instructions for the whole kernel, about 1 s under QEMU's
// emulation, under 0.1 s on hardware; once per boot) and a few MiB of tables, which the
// unpacker takes from the free memory between the kernel and the payloads at 8 MiB.
//
// Freestanding, integer only, no library calls: the same code runs in the unpacker
// (without SSE, before the kernel exists) and on the host. Malformed input never reads or
// writes outside the given buffers; damage shows as a bad CRC of the output (the caller
// checks it) or as a stream that does not end where it should.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

// The hash table of context statistics has `bucket_count` buckets of 32 bytes (a multiple
// of 4); more buckets forget less, so the packer gives it what the unpacker has free.
constexpr u32 cm_bucket_bytes = 32;
constexpr u32 cm_min_bucket_count = 1024;
constexpr u32 cm_max_bucket_count = 1u << 26;
// The scratch memory the codec needs with `bucket_count` buckets (its other tables take
// about 860 KiB), and the most buckets that `scratch_size` bytes hold (0: too few).
usize cm_scratch_bytes(u32 bucket_count);
u32 cm_bucket_count_for(usize scratch_size);

constexpr i64 cm_truncated = -1;       // the input ended before the last byte was decoded
constexpr i64 cm_trailing_bytes = -2;  // decoding ended before the input did
constexpr i64 cm_bad_tables = -3;      // bucket_count is no multiple of 4 or below the minimum, or the
                                       // scratch memory is smaller than cm_scratch_bytes
constexpr i64 cm_output_full = -4;     // the encoder's output does not fit its capacity

// Decodes exactly `out_size` bytes from the `in_size` bytes at `in`, with the tables in
// `scratch` (any contents; cm_scratch_bytes(bucket_count) of them, 8-byte aligned).
// Returns out_size, or a negative status above.
i64 cm_decode(const u8* in, usize in_size, u8* out, usize out_size, u32 bucket_count, void* scratch,
    usize scratch_size);

// Encodes `in_size` bytes into `out` (at most `out_capacity`); returns the bytes written
// or a negative status. Decoding them with the same bucket_count restores the input.
i64 cm_encode(const u8* in, usize in_size, u8* out, usize out_capacity, u32 bucket_count, void* scratch,
    usize scratch_size);

}
