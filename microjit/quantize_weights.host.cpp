// Reference quantisers of the weight formats (Q4_0, Q4_1, Q5_0, Q5_1, Q2_K .. Q6_K),
// following ggml's reference algorithms step for step and in the same float order (see
// quantize_blocks.h). Host only: the kernel never quantises weights (formats.cpp has null
// for them there).
//
// The legacy blocks take one pass from the block's largest magnitude (Q4_0, Q5_0) or its
// min and max (Q4_1, Q5_1). For the K formats, each super-block of 256 values is cut into sub-blocks (16 or 32 values); a search
// finds each sub-block's best scale (and min), the scales (and mins) are quantised
// against the super-block's largest one, and finally every value is re-quantised with
// the scale it will actually be decoded with.
#include <float.h>
#include <string.h>

#include "kernel_lib/libm/math.h"
#include "microjit/blocks.h"
#include "microjit/quantize_blocks.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace mjit::ref {

namespace {

constexpr float group_max_eps = 1e-15f;

i32 clamp(i32 v, i32 lo, i32 hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
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
        levels[i] = kl::min<u8>(top, static_cast<u8>(static_cast<i8>(truncate_to_int(x[i] * id + bias))));
}

// Scale-and-min levels: trunc((x - min) * id + 0.5), capped at 15 for Q4_1 (Q5_1 is not
// capped in ggml; its levels cannot pass 31).
void min_levels(const float* x, float min, float id, u8 cap, u8* levels)
{
    for (u32 i = 0; i < 32; ++i) {
        const u8 level = static_cast<u8>(truncate_to_int((x[i] - min) * id + 0.5f));
        levels[i] = cap ? kl::min<u8>(cap, level) : level;
    }
}

// --- scale and min search (make_qkx2_quants) ---------------------------------------------

struct MinScaleSearch {
    u32 nmax;      // levels 0..nmax
    float rmin;    // first trial: iscale = (rmin + nmax) / (max - min)
    float rdelta;  // then steps of rdelta
    u32 steps;
    bool use_mad;  // absolute error (Q2_K) instead of squared
};

float weighted_error(const float* x, const float* w, const u8* levels, u32 n, float scale, float min, bool use_mad)
{
    float error = 0.0f;
    for (u32 i = 0; i < n; ++i) {
        float diff = scale * static_cast<float>(levels[i]) + min - x[i];
        diff = use_mad ? kl::fabsf(diff) : diff * diff;
        error += w[i] * diff;
    }
    return error;
}

void levels_for(const float* x, u32 n, float iscale, float min, u32 nmax, u8* levels)
{
    for (u32 i = 0; i < n; ++i)
        levels[i] = static_cast<u8>(clamp(round_even(iscale * (x[i] - min)), 0, static_cast<i32>(nmax)));
}

// Fits x ~ scale * level + min (min <= 0) with weights w; returns scale, sets the_min
// to -min and the levels.
float search_min_scale(const float* x, const float* w, u32 n, const MinScaleSearch& s, u8* levels, float& the_min)
{
    float min = x[0], max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (u32 i = 1; i < n; ++i) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        memset(levels, 0, n);
        the_min = -min;
        return 0.0f;
    }
    const float nmax = static_cast<float>(s.nmax);
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    levels_for(x, n, iscale, min, s.nmax, levels);
    float best_error = weighted_error(x, w, levels, n, scale, min, s.use_mad);
    u8 trial[32];
    for (u32 step = 0; step <= s.steps; ++step) {
        iscale = (s.rmin + s.rdelta * static_cast<float>(step) + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        levels_for(x, n, iscale, min, s.nmax, trial);
        for (u32 i = 0; i < n; ++i) {
            const float l = static_cast<float>(trial[i]);
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        const float det = sum_w * sum_l2 - sum_l * sum_l;
        if (!(det > 0))
            continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        const float error = weighted_error(x, w, trial, n, this_scale, this_min, s.use_mad);
        if (error < best_error) {
            memcpy(levels, trial, n);
            best_error = error;
            scale = this_scale;
            min = this_min;
        }
    }
    the_min = -min;
    return scale;
}

// --- symmetric searches (make_q3_quants, make_qx_quants with x^2 weights) -----------------

// Weighted sums of a trial: sumlx = sum x^2 * x * l, suml2 = sum x^2 * l * l.
void symmetric_sums(const float* x, const i8* l, u32 n, float& sumlx, float& suml2)
{
    sumlx = suml2 = 0;
    for (u32 i = 0; i < n; ++i) {
        const float w = x[i] * x[i];
        const float li = static_cast<float>(l[i]);
        sumlx += w * x[i] * li;
        suml2 += w * li * li;
    }
}

void symmetric_levels(const float* x, u32 n, float iscale, i32 nmax, i8* l)
{
    for (u32 i = 0; i < n; ++i)
        l[i] = static_cast<i8>(clamp(round_even(iscale * x[i]), -nmax, nmax - 1));
}

// Q3_K's search: levels -nmax..nmax-1 from the largest value, then up to five passes that
// move single levels while that improves sumlx^2 / suml2. Returns the scale; levels are
// stored plus nmax.
float search_q3(const float* x, u32 n, i32 nmax, i8* levels)
{
    float amax;
    const float max = signed_abs_max(x, n, &amax);
    if (amax < group_max_eps) {
        memset(levels, 0, n);
        return 0.0f;
    }
    symmetric_levels(x, n, static_cast<float>(-nmax) / max, nmax, levels);
    float sumlx, suml2;
    symmetric_sums(x, levels, n, sumlx, suml2);
    for (u32 pass = 0; pass < 5; ++pass) {
        u32 changed = 0;
        for (u32 i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * static_cast<float>(levels[i]);
            if (!(slx > 0))
                continue;
            float sl2 = suml2 - w * static_cast<float>(levels[i]) * static_cast<float>(levels[i]);
            const i32 l = clamp(round_even(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (l == levels[i])
                continue;
            slx += w * x[i] * static_cast<float>(l);
            sl2 += w * static_cast<float>(l) * static_cast<float>(l);
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                levels[i] = static_cast<i8>(l);
                sumlx = slx;
                suml2 = sl2;
                ++changed;
            }
        }
        if (changed == 0)
            break;
    }
    for (u32 i = 0; i < n; ++i)
        levels[i] = static_cast<i8>(levels[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Q6_K's search: the least-squares scale for iscale = -(nmax + 0.1 k) / max, k = -9..9,
// keeping the best. Levels stored plus nmax.
float search_qx(const float* x, u32 n, i32 nmax, i8* levels)
{
    float amax;
    const float max = signed_abs_max(x, n, &amax);
    if (amax < group_max_eps) {
        memset(levels, 0, n);
        return 0.0f;
    }
    symmetric_levels(x, n, static_cast<float>(-nmax) / max, nmax, levels);
    float sumlx, suml2;
    symmetric_sums(x, levels, n, sumlx, suml2);
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    i8 trial[16];
    for (i32 k = -9; k <= 9; ++k) {
        if (k == 0)
            continue;
        const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(k)) / max;
        symmetric_levels(x, n, iscale, nmax, trial);
        symmetric_sums(x, trial, n, sumlx, suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            memcpy(levels, trial, n);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    for (u32 i = 0; i < n; ++i)
        levels[i] = static_cast<i8>(levels[i] + nmax);
    return scale;
}

// --- packing ----------------------------------------------------------------------------

// 2-bit levels of Q2_K / Q3_K: value 128h + 32j + r into bits 2j of qs[32h + r].
void pack_two_bits(const u8* levels, u8* qs)
{
    for (u32 h = 0; h < 2; ++h) {
        const u8* l = levels + 128 * h;
        for (u32 r = 0; r < 32; ++r)
            qs[32 * h + r] = static_cast<u8>(l[r] | (l[r + 32] << 2) | (l[r + 64] << 4) | (l[r + 96] << 6));
    }
}

// Q4_K / Q5_K scales and mins (6 bits each) into the 12 scale bytes (blocks.h, k4_scale_min).
void pack_k4_scales(const u8* scales, const u8* mins, u8* out)
{
    for (u32 j = 0; j < 8; ++j) {
        if (j < 4) {
            out[j] = scales[j];
            out[j + 4] = mins[j];
        } else {
            out[j + 4] = static_cast<u8>((scales[j] & 0xf) | ((mins[j] & 0xf) << 4));
            out[j - 4] = static_cast<u8>(out[j - 4] | ((scales[j] >> 4) << 6));
            out[j] = static_cast<u8>(out[j] | ((mins[j] >> 4) << 6));
        }
    }
}

}

// --- Q4_0, Q4_1, Q5_0, Q5_1 ---------------------------------------------------------------

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

// Q4_1 / Q5_1: d and m of one block from its range (`steps` levels above the minimum), and
// its levels through min_levels (`cap` as there).
template<typename Block>
void range_scaled_levels(const float* x, Block& b, float steps, u8 cap, u8* levels)
{
    float min, max;
    min_max(x, 32, min, max);
    const float d = (max - min) / steps;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f32_to_fp16(d);
    b.m = f32_to_fp16(min);
    min_levels(x, min, id, cap, levels);
}

void quantize_q4_1(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ4_1*>(out);
    for (u64 k = 0; k < n / qk_legacy; ++k, x += qk_legacy) {
        u8 levels[32];
        range_scaled_levels(x, b[k], 15.0f, 15, levels);
        pack_nibbles(levels, b[k].qs);
    }
}

void quantize_q5_1(const float* x, void* out, u64 n)
{
    auto* b = static_cast<BlockQ5_1*>(out);
    for (u64 k = 0; k < n / qk_legacy; ++k, x += qk_legacy) {
        u8 levels[32];
        range_scaled_levels(x, b[k], 31.0f, 0, levels);
        pack_nibbles(levels, b[k].qs);
        pack_fifth_bits(levels, b[k].qh);
    }
}

// --- Q2_K ---------------------------------------------------------------------------------

void quantize_q2_k(const float* x, void* out, u64 n)
{
    const MinScaleSearch search { 3, -0.5f, 0.1f, 15, true };
    auto* blocks = static_cast<BlockQ2_K*>(out);
    for (u64 k = 0; k < n / qk_k; ++k, x += qk_k) {
        BlockQ2_K& b = blocks[k];
        u8 levels[256];
        float scales[16], mins[16], max_scale = 0, max_min = 0;
        for (u32 j = 0; j < 16; ++j) {
            float w[16];
            for (u32 i = 0; i < 16; ++i)
                w[i] = kl::fabsf(x[16 * j + i]);
            scales[j] = search_min_scale(x + 16 * j, w, 16, search, levels + 16 * j, mins[j]);
            if (scales[j] > max_scale)
                max_scale = scales[j];
            if (mins[j] > max_min)
                max_min = mins[j];
        }
        memset(b.scales, 0, sizeof(b.scales));
        b.d = f32_to_fp16(0.0f);
        if (max_scale > 0) {
            const float iscale = 15.0f / max_scale;
            for (u32 j = 0; j < 16; ++j)
                b.scales[j] = static_cast<u8>(round_even(iscale * scales[j]));
            b.d = f32_to_fp16(max_scale / 15.0f);
        }
        b.dmin = f32_to_fp16(0.0f);
        if (max_min > 0) {
            const float iscale = 15.0f / max_min;
            for (u32 j = 0; j < 16; ++j)
                b.scales[j] = static_cast<u8>(b.scales[j] | (round_even(iscale * mins[j]) << 4));
            b.dmin = f32_to_fp16(max_min / 15.0f);
        }
        // Re-quantise with the scales as they will be decoded.
        for (u32 j = 0; j < 16; ++j) {
            const float d = fp16_to_f32(b.d) * static_cast<float>(b.scales[j] & 0xf);
            if (d == 0.0f)
                continue;
            const float dm = fp16_to_f32(b.dmin) * static_cast<float>(b.scales[j] >> 4);
            for (u32 i = 0; i < 16; ++i)
                levels[16 * j + i] = static_cast<u8>(clamp(round_even((x[16 * j + i] + dm) / d), 0, 3));
        }
        pack_two_bits(levels, b.qs);
    }
}

// --- Q3_K ---------------------------------------------------------------------------------

void quantize_q3_k(const float* x, void* out, u64 n)
{
    auto* blocks = static_cast<BlockQ3_K*>(out);
    for (u64 k = 0; k < n / qk_k; ++k, x += qk_k) {
        BlockQ3_K& b = blocks[k];
        i8 levels[256];
        float scales[16], max_scale = 0, amax = 0;
        for (u32 j = 0; j < 16; ++j) {
            scales[j] = search_q3(x + 16 * j, 16, 4, levels + 16 * j);
            if (kl::fabsf(scales[j]) > amax) {
                amax = kl::fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(b.scales, 0, sizeof(b.scales));
        b.d = f32_to_fp16(0.0f);
        if (max_scale != 0.0f) {
            const float iscale = -32.0f / max_scale;
            for (u32 j = 0; j < 16; ++j) {
                // ggml keeps the rounded scale in an int8 before clamping it.
                const i8 rounded = static_cast<i8>(round_even(iscale * scales[j]));
                const u8 l = static_cast<u8>(clamp(rounded, -32, 31) + 32);
                if (j < 8)
                    b.scales[j] = l & 0xf;
                else
                    b.scales[j - 8] = static_cast<u8>(b.scales[j - 8] | ((l & 0xf) << 4));
                b.scales[8 + j % 4] = static_cast<u8>(b.scales[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
            }
            b.d = f32_to_fp16(1 / iscale);
        }
        for (u32 j = 0; j < 16; ++j) {
            const i32 scale = static_cast<i32>(q3k_scale(b.scales, j)) - 32;
            const float d = fp16_to_f32(b.d) * static_cast<float>(scale);
            if (d == 0.0f)
                continue;
            for (u32 i = 0; i < 16; ++i)
                levels[16 * j + i] = static_cast<i8>(clamp(round_even(x[16 * j + i] / d), -4, 3) + 4);
        }
        // The high bit of value v goes to bit v / 32 of hmask[v % 32]; 2 bits stay.
        memset(b.hmask, 0, sizeof(b.hmask));
        u8 low[256];
        for (u32 v = 0; v < 256; ++v) {
            if (levels[v] > 3)
                b.hmask[v % 32] = static_cast<u8>(b.hmask[v % 32] | (1u << (v / 32)));
            low[v] = static_cast<u8>(levels[v] > 3 ? levels[v] - 4 : levels[v]);
        }
        pack_two_bits(low, b.qs);
    }
}

// --- Q4_K and Q5_K ---------------------------------------------------------------------------

namespace {

// The 32-value sub-block searches, the 6-bit scales and mins, and the final levels.
void quantize_k4_levels(const float* x, u32 nmax, const MinScaleSearch& search, u16& d_out, u16& dmin_out, u8* packed_scales,
    u8* levels)
{
    float scales[8], mins[8], max_scale = 0, max_min = 0;
    for (u32 j = 0; j < 8; ++j) {
        const float* xs = x + 32 * j;
        float sum_x2 = 0;
        for (u32 i = 0; i < 32; ++i)
            sum_x2 += xs[i] * xs[i];
        const float av_x = kl::sqrtf(sum_x2 / 32);
        float w[32];
        for (u32 i = 0; i < 32; ++i)
            w[i] = av_x + kl::fabsf(xs[i]);
        scales[j] = search_min_scale(xs, w, 32, search, levels + 32 * j, mins[j]);
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    u8 ls[8], lm[8];
    for (u32 j = 0; j < 8; ++j) {
        // ggml stores the rounded values in a u8 before capping them at 63.
        ls[j] = kl::min<u8>(63, static_cast<u8>(round_even(inv_scale * scales[j])));
        lm[j] = kl::min<u8>(63, static_cast<u8>(round_even(inv_min * mins[j])));
    }
    pack_k4_scales(ls, lm, packed_scales);
    d_out = f32_to_fp16(max_scale / 63.0f);
    dmin_out = f32_to_fp16(max_min / 63.0f);
    for (u32 j = 0; j < 8; ++j) {
        u8 scale, min;
        k4_scale_min(packed_scales, j, scale, min);
        const float d = fp16_to_f32(d_out) * static_cast<float>(scale);
        if (d == 0.0f)
            continue;
        const float dm = fp16_to_f32(dmin_out) * static_cast<float>(min);
        for (u32 i = 0; i < 32; ++i)
            levels[32 * j + i] = static_cast<u8>(clamp(round_even((x[32 * j + i] + dm) / d), 0, static_cast<i32>(nmax)));
    }
}

}

void quantize_q4_k(const float* x, void* out, u64 n)
{
    const MinScaleSearch search { 15, -1.0f, 0.1f, 20, false };
    auto* blocks = static_cast<BlockQ4_K*>(out);
    for (u64 k = 0; k < n / qk_k; ++k, x += qk_k) {
        BlockQ4_K& b = blocks[k];
        u8 levels[256];
        memset(b.scales, 0, sizeof(b.scales));
        quantize_k4_levels(x, 15, search, b.d, b.dmin, b.scales, levels);
        // Value 64c + r in the low nibble of qs[32c + r], value 64c + 32 + r in the high one.
        for (u32 c = 0; c < 4; ++c) {
            for (u32 r = 0; r < 32; ++r)
                b.qs[32 * c + r] = static_cast<u8>(levels[64 * c + r] | (levels[64 * c + 32 + r] << 4));
        }
    }
}

void quantize_q5_k(const float* x, void* out, u64 n)
{
    const MinScaleSearch search { 31, -0.5f, 0.1f, 15, false };
    auto* blocks = static_cast<BlockQ5_K*>(out);
    for (u64 k = 0; k < n / qk_k; ++k, x += qk_k) {
        BlockQ5_K& b = blocks[k];
        u8 levels[256];
        memset(b.scales, 0, sizeof(b.scales));
        quantize_k4_levels(x, 31, search, b.d, b.dmin, b.scales, levels);
        // As Q4_K for the low 4 bits; the fifth bit of value v is bit v / 32 of qh[v % 32].
        memset(b.qh, 0, sizeof(b.qh));
        for (u32 v = 0; v < 256; ++v) {
            if (levels[v] > 15)
                b.qh[v % 32] = static_cast<u8>(b.qh[v % 32] | (1u << (v / 32)));
        }
        for (u32 c = 0; c < 4; ++c) {
            for (u32 r = 0; r < 32; ++r)
                b.qs[32 * c + r] = static_cast<u8>((levels[64 * c + r] & 0xf) | ((levels[64 * c + 32 + r] & 0xf) << 4));
        }
    }
}

// --- Q6_K ---------------------------------------------------------------------------------

void quantize_q6_k(const float* x, void* out, u64 n)
{
    auto* blocks = static_cast<BlockQ6_K*>(out);
    for (u64 k = 0; k < n / qk_k; ++k, x += qk_k) {
        BlockQ6_K& b = blocks[k];
        i8 levels[256];
        float scales[16], max_scale = 0, max_abs_scale = 0;
        for (u32 j = 0; j < 16; ++j) {
            scales[j] = search_qx(x + 16 * j, 16, 32, levels + 16 * j);
            if (kl::fabsf(scales[j]) > max_abs_scale) {
                max_abs_scale = kl::fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(&b, 0, sizeof(b));
        if (max_abs_scale < group_max_eps)
            continue;
        const float iscale = -128.0f / max_scale;
        b.d = f32_to_fp16(1 / iscale);
        for (u32 j = 0; j < 16; ++j)
            b.scales[j] = static_cast<i8>(kl::min(127, round_even(iscale * scales[j])));
        for (u32 j = 0; j < 16; ++j) {
            const float d = fp16_to_f32(b.d) * static_cast<float>(b.scales[j]);
            if (d == 0.0f)
                continue;
            for (u32 i = 0; i < 16; ++i)
                levels[16 * j + i] = static_cast<i8>(clamp(round_even(x[16 * j + i] / d), -32, 31) + 32);
        }
        // Value 128h + 32p + r: low 4 bits in nibble p / 2 of ql[64h + 32(p % 2) + r],
        // high 2 bits at bit 2p of qh[32h + r].
        for (u32 v = 0; v < 256; ++v) {
            const u32 h = v / 128, p = (v / 32) % 4, r = v % 32;
            const u8 level = static_cast<u8>(levels[v]);
            b.ql[64 * h + 32 * (p % 2) + r] = static_cast<u8>(b.ql[64 * h + 32 * (p % 2) + r] | ((level & 0xf) << (4 * (p / 2))));
            b.qh[32 * h + r] = static_cast<u8>(b.qh[32 * h + r] | ((level >> 4) << (2 * p)));
        }
    }
}

}
