// Streaming-read bandwidth probe (see bandwidth.h): eight independent accumulators of
// 32-byte (AVX2) or 16-byte (SSE2) loads, so the loop is limited by memory, not by latency.
#include "kernel_lib/mem/bandwidth.h"

#include <immintrin.h>
#include <string.h>

#include "kernel_lib/cpu/features.h"
#include "kernel_lib/time/tsc.h"

namespace kl::mem {

namespace {

__attribute__((target("avx2"))) u64 read_avx2(const u8* p, u64 bytes)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (u64 i = 0; i + 256 <= bytes; i += 256) {
        a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
        a4 = _mm256_xor_si256(a4, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 128)));
        a5 = _mm256_xor_si256(a5, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 160)));
        a6 = _mm256_xor_si256(a6, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 192)));
        a7 = _mm256_xor_si256(a7, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 224)));
    }
    __m256i x = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3)),
        _mm256_xor_si256(_mm256_xor_si256(a4, a5), _mm256_xor_si256(a6, a7)));
    __m128i y = _mm_xor_si128(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    return static_cast<u64>(_mm_cvtsi128_si64(y));
}

u64 read_sse2(const u8* p, u64 bytes)
{
    __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (u64 i = 0; i + 128 <= bytes; i += 128) {
        a0 = _mm_xor_si128(a0, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i)));
        a1 = _mm_xor_si128(a1, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 16)));
        a2 = _mm_xor_si128(a2, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 32)));
        a3 = _mm_xor_si128(a3, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 48)));
        a4 = _mm_xor_si128(a4, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 64)));
        a5 = _mm_xor_si128(a5, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 80)));
        a6 = _mm_xor_si128(a6, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 96)));
        a7 = _mm_xor_si128(a7, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 112)));
    }
    __m128i x = _mm_xor_si128(_mm_xor_si128(_mm_xor_si128(a0, a1), _mm_xor_si128(a2, a3)),
        _mm_xor_si128(_mm_xor_si128(a4, a5), _mm_xor_si128(a6, a7)));
    return static_cast<u64>(_mm_cvtsi128_si64(x));
}

}

Bandwidth measure_read_bandwidth(void* buffer, u64 bytes, int passes)
{
    const bool avx2 = cpu::features().avx2_usable;
    const u8* p = static_cast<const u8*>(buffer);
    memset(buffer, 0x5A, bytes);
    volatile u64 sink = 0;
    u64 best = ~0ull;
    for (int pass = 0; pass < passes; ++pass) {
        u64 start = time::rdtsc_begin();
        sink = sink ^ (avx2 ? read_avx2(p, bytes) : read_sse2(p, bytes));
        u64 cycles = time::rdtsc_end() - start;
        if (cycles < best)
            best = cycles;
    }
    (void)sink;
    double seconds = time::cycles_to_s(best);
    return { seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0.0, bytes, avx2 ? "avx2" : "sse2" };
}

}
