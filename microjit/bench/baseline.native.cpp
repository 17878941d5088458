// jit-bench baselines built -O3 -march=native (see baseline.h).
#include "microjit/bench/baseline.h"

#include <immintrin.h>

namespace mjit::bench {

void native_matvec_f32(float* out, const float* w, const float* x, uint32_t n, uint64_t row_begin, uint64_t row_end)
{
    for (uint64_t row = row_begin; row < row_end; ++row) {
        const float* wr = w + row * n;
        float sum = 0.0f;
        for (uint32_t j = 0; j < n; ++j)
            sum += wr[j] * x[j];
        out[row] = sum;
    }
}

void native_matvec_f32_reassoc(float* out, const float* w, const float* x, uint32_t n, uint64_t row_begin, uint64_t row_end)
{
#pragma clang fp reassociate(on) contract(fast)
    for (uint64_t row = row_begin; row < row_end; ++row) {
        const float* wr = w + row * n;
        float sum = 0.0f;
        for (uint32_t j = 0; j < n; ++j)
            sum += wr[j] * x[j];
        out[row] = sum;
    }
}

void native_matvec_q8(float* out, const int8_t* w, const float* w_scale, const int8_t* x, const float* x_scale, uint32_t n,
    uint32_t gs, uint64_t row_begin, uint64_t row_end)
{
    const uint32_t groups = n / gs;
    for (uint64_t row = row_begin; row < row_end; ++row) {
        const int8_t* wr = w + row * n;
        const float* ws = w_scale + row * groups;
        float sum = 0.0f;
        for (uint32_t g = 0; g < groups; ++g) {
            int32_t isum = 0;
            for (uint32_t k = 0; k < gs; ++k)
                isum += static_cast<int32_t>(x[g * gs + k]) * static_cast<int32_t>(wr[g * gs + k]);
            sum += static_cast<float>(isum) * ws[g] * x_scale[g];
        }
        out[row] = sum;
    }
}

// The target attribute keeps this file compilable without -march=native (the sanitizer
// build compiles it with the portable flags); jit-bench calls it only on AVX2 machines.
template<int streams>
__attribute__((target("avx2"))) uint64_t stream_read(const uint8_t* data, size_t bytes)
{
    // 256 bytes per iteration in eight independent integer adds (one cycle each, never the
    // bottleneck), taken from `streams` equal, consecutive parts of the buffer at once.
    constexpr size_t per_stream = 256 / streams;
    const size_t part = bytes / streams / per_stream * per_stream;
    __m256i acc[8];
    for (auto& a : acc)
        a = _mm256_setzero_si256();
    for (size_t offset = 0; offset < part; offset += per_stream)
        for (int s = 0; s < streams; ++s)
            for (size_t k = 0; k < per_stream / 32; ++k) {
                const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(data + s * part + offset + k * 32));
                acc[(s * (per_stream / 32) + k) % 8] = _mm256_add_epi32(acc[(s * (per_stream / 32) + k) % 8], v);
            }
    __m256i sum = acc[0];
    for (int i = 1; i < 8; ++i)
        sum = _mm256_add_epi32(sum, acc[i]);
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
    return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
}

uint64_t native_stream_read(const void* data, size_t bytes, int streams)
{
    const uint8_t* p = static_cast<const uint8_t*>(data);
    if (streams >= 4)
        return stream_read<4>(p, bytes);
    if (streams == 2)
        return stream_read<2>(p, bytes);
    return stream_read<1>(p, bytes);
}

}
