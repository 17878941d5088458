// CRC-32C (Castagnoli), the checksum of every payload and of the payload directory.
//
// Castagnoli rather than the zlib polynomial because SSE4.2's crc32 instruction computes
// it: checking a 1.2 GB model then costs a fraction of a second. Without SSE4.2 a
// slice-by-8 table version (tables built on first use, so they cost no image bytes) runs.
// Stage2 checks the directory with a bitwise version of the same polynomial.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

// CRC of `length` bytes, continuing from `crc` (0 to start): crc32c(b, crc32c(a)) == crc32c(a+b).
u32 crc32c(const void* data, usize length, u32 crc = 0);

// The portable and the hardware paths, exposed for tests and benchmarks.
u32 crc32c_portable(const void* data, usize length, u32 crc = 0);
u32 crc32c_sse42(const void* data, usize length, u32 crc = 0);  // needs CPUID.1:ECX.SSE4_2

}
