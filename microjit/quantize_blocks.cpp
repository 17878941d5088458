// Reference quantisers of the halves and the activation formats, shared by the kernel and
// the host (see quantize_blocks.h; the weight formats' are in quantize_weights.host.cpp).
#include "microjit/quantize_blocks.h"

#include <float.h>
#include <string.h>

#include "kernel_lib/libm/math.h"
#include "microjit/blocks.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace mjit::ref {

i32 round_even(float v)
{
    // Adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits.
    const float shifted = v + 12582912.0f;
    u32 bits;
    memcpy(&bits, &shifted, sizeof(bits));
    return static_cast<i32>(bits & 0x007fffff) - 0x00400000;
}

void quantize_f32(const float* x, void* out, u64 n)
{
    memcpy(out, x, n * sizeof(float));
}

void quantize_f16(const float* x, void* out, u64 n)
{
    u16* h = static_cast<u16*>(out);
    for (u64 i = 0; i < n; ++i)
        h[i] = f32_to_fp16(x[i]);
}

void quantize_bf16(const float* x, void* out, u64 n)
{
    u16* h = static_cast<u16*>(out);
    for (u64 i = 0; i < n; ++i)
        h[i] = f32_to_bf16(x[i]);
}

i32 truncate_to_int(float v)
{
    return v > -2147483648.0f && v < 2147483648.0f ? static_cast<i32>(v) : 0;
}

float signed_abs_max(const float* x, u32 count, float* amax_out)
{
    float amax = 0.0f, max = 0.0f;
    for (u32 i = 0; i < count; ++i) {
        if (amax < kl::fabsf(x[i])) {
            amax = kl::fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax_out)
        *amax_out = amax;
    return max;
}

namespace {

float abs_max(const float* x, u32 count)
{
    float amax = 0.0f;
    for (u32 i = 0; i < count; ++i) {
        const float v = kl::fabsf(x[i]);
        amax = amax > v ? amax : v;
    }
    return amax;
}

// One Q8_0 / Q8_1 block: q = roundf(x * id); returns the sum of the q.
i32 quantize_q8_block(const float* x, i8* qs, float& d)
{
    d = abs_max(x, 32) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    i32 sum = 0;
    for (u32 i = 0; i < 32; ++i) {
        qs[i] = static_cast<i8>(truncate_to_int(kl::roundf(x[i] * id)));
        sum += qs[i];
    }
    return sum;
}

}

void quantize_q8_0(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ8_0*>(out);
    for (u64 k = 0; k < n / qk_legacy; ++k, x += qk_legacy) {
        float d;
        quantize_q8_block(x, b[k].qs, d);
        b[k].d = f32_to_fp16(d);
    }
}

void quantize_q8_1(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ8_1*>(out);
    for (u64 k = 0; k < n / qk_legacy; ++k, x += qk_legacy) {
        float d;
        const i32 sum = quantize_q8_block(x, b[k].qs, d);
        b[k].d = f32_to_fp16(d);
        b[k].s = f32_to_fp16(static_cast<float>(sum) * d);
    }
}

void quantize_q8_k(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ8_K*>(out);
    for (u64 k = 0; k < n / qk_k; ++k, x += qk_k) {
        const float max = signed_abs_max(x, qk_k);
        memset(&b[k], 0, sizeof(b[k]));
        if (max == 0.0f)
            continue;
        const float iscale = -127.0f / max;
        for (u32 i = 0; i < qk_k; ++i) {
            b[k].qs[i] = static_cast<i8>(kl::min(127, round_even(iscale * x[i])));
            b[k].bsums[i / 16] = static_cast<i16>(b[k].bsums[i / 16] + b[k].qs[i]);
            b[k].qs_t[q_transposed(i)] = b[k].qs[i];
        }
        for (u32 j = 0; j < 8; ++j)
            b[k].bsum_pairs[j] = static_cast<i16>(b[k].bsums[2 * j] + b[k].bsums[2 * j + 1]);
        b[k].d = 1.0f / iscale;
    }
}

}
