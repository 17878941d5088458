// Reference quantisers of the halves, the activation formats and the legacy 32-value
// blocks (see quantize_blocks.h; the K formats are in quantize_k.cpp).
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

namespace {

// float -> int truncating toward zero, as C's conversion does for the values the
// quantisers produce; NaN and values beyond the int range (only from non-finite input)
// give 0 instead of undefined behaviour.
i32 truncate(float v)
{
    return v > -2147483648.0f && v < 2147483648.0f ? static_cast<i32>(v) : 0;
}

float abs_max(const float* x, u32 count)
{
    float amax = 0.0f;
    for (u32 i = 0; i < count; ++i) {
        const float v = kl::fabsf(x[i]);
        amax = amax > v ? amax : v;
    }
    return amax;
}

// The value with the largest magnitude (the first on ties), with its sign: the legacy
// scale-only formats map it to -8 (-16) so that the other end keeps one more level.
float signed_abs_max(const float* x, u32 count)
{
    float amax = 0.0f, max = 0.0f;
    for (u32 i = 0; i < count; ++i) {
        if (amax < kl::fabsf(x[i])) {
            amax = kl::fabsf(x[i]);
            max = x[i];
        }
    }
    return max;
}

void min_max(const float* x, u32 count, float& min, float& max)
{
    min = FLT_MAX;
    max = -FLT_MAX;
    for (u32 i = 0; i < count; ++i) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
    }
}

// One Q8_0 / Q8_1 block: q = roundf(x * id); returns the sum of the q.
i32 quantize_q8_block(const float* x, i8* qs, float& d)
{
    d = abs_max(x, 32) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    i32 sum = 0;
    for (u32 i = 0; i < 32; ++i) {
        qs[i] = static_cast<i8>(truncate(kl::roundf(x[i] * id)));
        sum += qs[i];
    }
    return sum;
}

// Nibble packing of the legacy formats: value i < 16 in the low half of byte i, value
// 16 + i in the high half; the fifth bits (Q5) go to bit i of qh.
void pack_nibbles(const u8* levels, u8* qs)
{
    for (u32 i = 0; i < 16; ++i)
        qs[i] = static_cast<u8>((levels[i] & 0xf) | ((levels[i + 16] & 0xf) << 4));
}

void pack_fifth_bits(const u8* levels, u8* qh)
{
    u32 high = 0;
    for (u32 i = 0; i < 32; ++i)
        high |= static_cast<u32>((levels[i] >> 4) & 1) << i;
    memcpy(qh, &high, sizeof(high));
}

// Scale-only levels: level = min(top, trunc(x * id + bias)) with bias = top/2 + 0.5.
void scale_levels(const float* x, float id, float bias, u8 top, u8* levels)
{
    for (u32 i = 0; i < 32; ++i)
        levels[i] = kl::min<u8>(top, static_cast<u8>(static_cast<i8>(truncate(x[i] * id + bias))));
}

// Scale-and-min levels: trunc((x - min) * id + 0.5), capped at 15 for Q4_1 (Q5_1 is not
// capped in ggml; its levels cannot pass 31).
void min_levels(const float* x, float min, float id, u8 cap, u8* levels)
{
    for (u32 i = 0; i < 32; ++i) {
        const u8 level = static_cast<u8>(truncate((x[i] - min) * id + 0.5f));
        levels[i] = cap ? kl::min<u8>(cap, level) : level;
    }
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
        }
        b[k].d = 1.0f / iscale;
    }
}

void quantize_q4_0(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ4_0*>(out);
    for (u64 k = 0; k < n / qk_legacy; ++k, x += qk_legacy) {
        const float d = signed_abs_max(x, 32) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[k].d = f32_to_fp16(d);
        u8 levels[32];
        scale_levels(x, id, 8.5f, 15, levels);
        pack_nibbles(levels, b[k].qs);
    }
}

void quantize_q5_0(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ5_0*>(out);
    for (u64 k = 0; k < n / qk_legacy; ++k, x += qk_legacy) {
        const float d = signed_abs_max(x, 32) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[k].d = f32_to_fp16(d);
        u8 levels[32];
        scale_levels(x, id, 16.5f, 31, levels);
        pack_nibbles(levels, b[k].qs);
        pack_fifth_bits(levels, b[k].qh);
    }
}

void quantize_q4_1(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ4_1*>(out);
    for (u64 k = 0; k < n / qk_legacy; ++k, x += qk_legacy) {
        float min, max;
        min_max(x, 32, min, max);
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[k].d = f32_to_fp16(d);
        b[k].m = f32_to_fp16(min);
        u8 levels[32];
        min_levels(x, min, id, 15, levels);
        pack_nibbles(levels, b[k].qs);
    }
}

void quantize_q5_1(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ5_1*>(out);
    for (u64 k = 0; k < n / qk_legacy; ++k, x += qk_legacy) {
        float min, max;
        min_max(x, 32, min, max);
        const float d = (max - min) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[k].d = f32_to_fp16(d);
        b[k].m = f32_to_fp16(min);
        u8 levels[32];
        min_levels(x, min, id, 0, levels);
        pack_nibbles(levels, b[k].qs);
        pack_fifth_bits(levels, b[k].qh);
    }
}

}
