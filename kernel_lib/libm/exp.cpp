// expf and powf, returning glibc's bits (kernel_lib/libm/math.h).
//
// The model's sampled stories must match run.c's byte for byte, and a sample flips when a
// 1-ulp difference in a probability meets a coin near a cdf boundary. So instead of a
// merely accurate algorithm these follow the one glibc uses (from Arm's optimized-routines:
// a 32-entry table of 2^(i/32) and short polynomials in double, max error 0.502 ulp for
// expf, 0.82 for powf), with its published constants. glibc's x86-64 build fuses some
// multiply-adds (FMA); where that changes a result (the reduction r = z/c - 1 in powf's
// log2) we compute the fused value exactly by splitting a constant; elsewhere the fused
// and unfused roundings agree on every float input tested (libm_test.cpp).
#include <immintrin.h>

#include "kernel_lib/base/types.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/libm/math.h"

namespace kl {

// Built for size (like -Oz): kernel_lib has a small code budget, and these run once per
// activation element, a rounding error next to the matrix products.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

namespace {

// 2^(i/32), correctly rounded, as bit patterns.
constexpr u64 exp2_table[32] = {
    0x3ff0000000000000ull, 0x3ff059b0d3158574ull, 0x3ff0b5586cf9890full, 0x3ff11301d0125b51ull,
    0x3ff172b83c7d517bull, 0x3ff1d4873168b9aaull, 0x3ff2387a6e756238ull, 0x3ff29e9df51fdee1ull,
    0x3ff306fe0a31b715ull, 0x3ff371a7373aa9cbull, 0x3ff3dea64c123422ull, 0x3ff44e086061892dull,
    0x3ff4bfdad5362a27ull, 0x3ff5342b569d4f82ull, 0x3ff5ab07dd485429ull, 0x3ff6247eb03a5585ull,
    0x3ff6a09e667f3bcdull, 0x3ff71f75e8ec5f74ull, 0x3ff7a11473eb0187ull, 0x3ff82589994cce13ull,
    0x3ff8ace5422aa0dbull, 0x3ff93737b0cdc5e5ull, 0x3ff9c49182a3f090ull, 0x3ffa5503b23e255dull,
    0x3ffae89f995ad3adull, 0x3ffb7f76f2fb5e47ull, 0x3ffc199bdd85529cull, 0x3ffcb720dcef9069ull,
    0x3ffd5818dcfba487ull, 0x3ffdfc97337b9b5full, 0x3ffea4afa2a490daull, 0x3fff50765b6e4540ull,
};

// 2^r ~ 1 + r (c2 + r (c1 + r c0)) for |r| <= 1/64 (glibc's coefficients).
constexpr double exp2_c0 = 0x1.c6af84b912394p-5;
constexpr double exp2_c1 = 0x1.ebfce50fac4f3p-3;
constexpr double exp2_c2 = 0x1.62e42ff0c52d6p-1;

// log2 table for powf: z in [0x3f330000, 2 * 0x3f330000) falls into one of 16 intervals
// with a point c near its middle; invc = 1/c and logc = log2(c) (glibc's values; logc is
// -log2(invc) correctly rounded).
struct Log2Entry {
    double invc;
    double logc;
};
constexpr Log2Entry log2_table[16] = {
    { 0x1.661ec79f8f3bep+0, -0x1.efec65b963019p-2 }, { 0x1.571ed4aaf883dp+0, -0x1.b0b6832d4fca4p-2 },
    { 0x1.49539f0f010bp+0, -0x1.7418b0a1fb77bp-2 }, { 0x1.3c995b0b80385p+0, -0x1.39de91a6dcf7bp-2 },
    { 0x1.30d190c8864a5p+0, -0x1.01d9bf3f2b631p-2 }, { 0x1.25e227b0b8eap+0, -0x1.97c1d1b3b7afp-3 },
    { 0x1.1bb4a4a1a343fp+0, -0x1.2f9e393af3c9fp-3 }, { 0x1.12358f08ae5bap+0, -0x1.960cbbf788d5cp-4 },
    { 0x1.0953f419900a7p+0, -0x1.a6f9db6475fcep-5 }, { 0x1p+0, 0x0p+0 },
    { 0x1.e608cfd9a47acp-1, 0x1.338ca9f24f53dp-4 }, { 0x1.ca4b31f026aap-1, 0x1.476a9543891bap-3 },
    { 0x1.b2036576afce6p-1, 0x1.e840b4ac4e4d2p-3 }, { 0x1.9c2d163a1aa2dp-1, 0x1.40645f0c6651cp-2 },
    { 0x1.886e6037841edp-1, 0x1.88e9c2c1b9ff8p-2 }, { 0x1.767dcf5534862p-1, 0x1.ce0a44eb17bccp-2 },
};

// log2(1 + r) ~ a4 r + a3 r^2 + ... + a0 r^5.
constexpr double log2_a[5] = {
    0x1.27616c9496e0bp-2, -0x1.71969a075c67ap-2, 0x1.ec70a6ca7baddp-2, -0x1.7154748bef6c8p-1, 0x1.71547652ab82bp0,
};

u32 bits_of(float x) { return __builtin_bit_cast(u32, x); }

// 2^(k/32) * p(r), rounded once to float: the shared tail of expf and powf. `shift` is
// 1.5 * 2^52 / scale, so that adding it rounds xd * scale... to an integer k in its low bits.
float exp2_tail(double xd, double shift, double c0, double c1, double c2, bool negative)
{
    double kd = xd + shift;  // k in the low bits
    u64 ki = __builtin_bit_cast(u64, kd);
    kd -= shift;
    double r = xd - kd;
    // 2^(k/32) = 2^((k mod 32)/32) * 2^floor(k/32): add floor(k/32) to the exponent field.
    u64 t = exp2_table[ki & 31] + ((ki >> 5) << 52) + (negative ? 1ull << 63 : 0);
    double s = __builtin_bit_cast(double, t);
    double z = c0 * r + c1;
    double r2 = r * r;
    double y = c2 * r + 1;
    y = z * r2 + y;
    return static_cast<float>(y * s);
}

// log2 of the float with bits ix (positive; a normalised subnormal has a negative exponent).
double log2_inline(u32 ix)
{
    u32 tmp = ix - 0x3f330000;
    int i = (tmp >> 19) % 16;
    u32 top = tmp & 0xff800000;
    u32 iz = ix - top;
    int k = static_cast<i32>(top) >> 23;
    double invc = log2_table[i].invc;
    double z = __builtin_bit_cast(float, iz);
    // r = z * invc - 1 rounded once, as an FMA does: with invc split into 26 + 27 bits
    // both partial products and the difference z * hi - 1 are exact.
    double hi = __builtin_bit_cast(double, __builtin_bit_cast(u64, invc) & ~((1ull << 27) - 1));
    double r = (z * hi - 1) + z * (invc - hi);
    double y0 = log2_table[i].logc + static_cast<double>(k);
    double r2 = r * r;
    double y = log2_a[0] * r + log2_a[1];
    double p = log2_a[2] * r + log2_a[3];
    double r4 = r2 * r2;
    double q = log2_a[4] * r + y0;
    q = p * r2 + q;
    return y * r4 + q;
}

// 0: not an integer, 1: odd integer, 2: even integer (y finite and non-zero).
int integer_kind(u32 iy)
{
    int e = (iy >> 23) & 0xff;
    if (e < 0x7f)
        return 0;
    if (e > 0x7f + 23)
        return 2;
    if (iy & ((1u << (0x7f + 23 - e)) - 1))
        return 0;
    return (iy & (1u << (0x7f + 23 - e))) ? 1 : 2;
}

// 0, +-inf or nan.
bool zero_inf_nan(u32 i) { return 2 * i - 1 >= 2u * 0x7f800000 - 1; }

bool is_signaling(u32 i) { return (i & 0x7fc00000) == 0x7f800000 && (i & 0x3fffff); }

constexpr float huge = 0x1p97f;  // huge * huge overflows to inf, tiny * tiny to 0
constexpr float tiny = 0x1p-95f;

}

// The constants of expf's call of exp2_tail, folded the same way at compile time.
constexpr double exp_scale = 0x1.71547652b82fep+0 * 32, exp_shift = 0x1.8p+52;
constexpr double exp_c0 = exp2_c0 / (32.0 * 32 * 32), exp_c1 = exp2_c1 / (32.0 * 32), exp_c2 = exp2_c2 / 32;

float expf(float x)
{
    u32 abstop = (bits_of(x) >> 20) & 0x7ff;
    if (abstop >= 0x42b) {  // |x| >= 88, or nan
        if (bits_of(x) == 0xff800000)
            return 0.0f;
        if (abstop >= 0x7f8)
            return x + x;
        if (x > 0x1.62e42ep6f)  // above log(0x1p128)
            return huge * huge;
        if (x < -0x1.9fe368p6f)  // below log(0x1p-150)
            return tiny * tiny;
    }
    // e^x = 2^(x * 32/ln2 / 32): the table step k/32 plus a small remainder r/32.
    double z = exp_scale * static_cast<double>(x);
    return exp2_tail(z, exp_shift, exp_c0, exp_c1, exp_c2, false);
}

// expf's steps (exp2_tail's with expf's constants) in four double lanes; the gather reads
// the same table entry the scalar code indexes.
__attribute__((target("avx2"))) void expf_avx2(float* x, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m128 v = _mm_loadu_ps(x + i);
        // |x| >= 88 or nan in any lane: expf's special cases, one at a time.
        const __m128i abstop = _mm_and_si128(_mm_srli_epi32(_mm_castps_si128(v), 20), _mm_set1_epi32(0x7ff));
        if (_mm_movemask_epi8(_mm_cmpgt_epi32(abstop, _mm_set1_epi32(0x42a)))) {
            for (int j = 0; j < 4; ++j)
                x[i + j] = expf(x[i + j]);
            continue;
        }
        const __m256d z = _mm256_mul_pd(_mm256_set1_pd(exp_scale), _mm256_cvtps_pd(v));
        const __m256d shift = _mm256_set1_pd(exp_shift);
        const __m256d shifted = _mm256_add_pd(z, shift);
        const __m256i k = _mm256_castpd_si256(shifted);
        const __m256d r = _mm256_sub_pd(z, _mm256_sub_pd(shifted, shift));
        const __m256i entry = _mm256_i64gather_epi64(reinterpret_cast<const long long*>(exp2_table),
            _mm256_and_si256(k, _mm256_set1_epi64x(31)), 8);
        const __m256d s = _mm256_castsi256_pd(_mm256_add_epi64(entry, _mm256_slli_epi64(_mm256_srli_epi64(k, 5), 52)));
        const __m256d p = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(exp_c0), r), _mm256_set1_pd(exp_c1));
        const __m256d r2 = _mm256_mul_pd(r, r);
        __m256d y = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(exp_c2), r), _mm256_set1_pd(1.0));
        y = _mm256_add_pd(_mm256_mul_pd(p, r2), y);
        _mm_storeu_ps(x + i, _mm256_cvtpd_ps(_mm256_mul_pd(y, s)));
    }
    for (; i < n; ++i)
        x[i] = expf(x[i]);
}

// The same in eight double lanes, the table entry from two 16-entry permutes (the table's
// halves) and a blend by the index's bit 4 instead of a gather: 1.8x expf_avx2's pace.
__attribute__((target("avx512f"))) void expf_avx512(float* x, int n)
{
    const __m512i* table = reinterpret_cast<const __m512i*>(exp2_table);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256i abstop = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(v), 20), _mm256_set1_epi32(0x7ff));
        if (_mm256_movemask_epi8(_mm256_cmpgt_epi32(abstop, _mm256_set1_epi32(0x42a)))) {
            expf_avx2(x + i, 8);  // expf's special cases, which it takes one at a time
            continue;
        }
        const __m512d z = _mm512_mul_pd(_mm512_set1_pd(exp_scale), _mm512_cvtps_pd(v));
        const __m512d shift = _mm512_set1_pd(exp_shift);
        const __m512d shifted = _mm512_add_pd(z, shift);
        const __m512i k = _mm512_castpd_si512(shifted);
        const __m512d r = _mm512_sub_pd(z, _mm512_sub_pd(shifted, shift));
        const __m512i low = _mm512_permutex2var_epi64(_mm512_loadu_si512(table), k, _mm512_loadu_si512(table + 1));
        const __m512i high = _mm512_permutex2var_epi64(_mm512_loadu_si512(table + 2), k, _mm512_loadu_si512(table + 3));
        const __m512i entry = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(k, _mm512_set1_epi64(16)), low, high);
        const __m512d s = _mm512_castsi512_pd(_mm512_add_epi64(entry, _mm512_slli_epi64(_mm512_srli_epi64(k, 5), 52)));
        const __m512d p = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(exp_c0), r), _mm512_set1_pd(exp_c1));
        const __m512d r2 = _mm512_mul_pd(r, r);
        __m512d y = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(exp_c2), r), _mm512_set1_pd(1.0));
        y = _mm512_add_pd(_mm512_mul_pd(p, r2), y);
        _mm256_storeu_ps(x + i, _mm512_cvtpd_ps(_mm512_mul_pd(y, s)));
    }
    expf_avx2(x + i, n - i);
}

void expf_each(float* x, int n, bool avx2)
{
    if (avx2 && cpu::features().avx512_usable)
        return expf_avx512(x, n);
    if (avx2)
        return expf_avx2(x, n);
    for (int i = 0; i < n; ++i)
        x[i] = expf(x[i]);
}

float powf(float x, float y)
{
    bool negative = false;
    u32 ix = bits_of(x);
    u32 iy = bits_of(y);
    if (ix - 0x00800000 >= 0x7f800000 - 0x00800000 || zero_inf_nan(iy)) {
        // x is negative, subnormal, 0, inf or nan, or y is 0, inf or nan.
        if (zero_inf_nan(iy)) {
            if (2 * iy == 0)
                return is_signaling(ix) ? x + y : 1.0f;
            if (ix == 0x3f800000)
                return is_signaling(iy) ? x + y : 1.0f;
            if (2 * ix > 2u * 0x7f800000 || 2 * iy > 2u * 0x7f800000)
                return x + y;
            if (2 * ix == 2u * 0x3f800000)
                return 1.0f;
            if ((2 * ix < 2u * 0x3f800000) == !(iy & 0x80000000))
                return 0.0f;  // |x| < 1 and y = inf, or |x| > 1 and y = -inf
            return y * y;
        }
        if (zero_inf_nan(ix)) {
            float x2 = x * x;
            if ((ix & 0x80000000) && integer_kind(iy) == 1)
                x2 = -x2;
            return (iy & 0x80000000) ? 1 / x2 : x2;
        }
        // Finite, non-zero x and y.
        if (ix & 0x80000000) {
            int kind = integer_kind(iy);
            if (kind == 0)
                return (x - x) / (x - x);  // negative base, non-integer power: nan
            negative = kind == 1;
            ix &= 0x7fffffff;
        }
        if (ix < 0x00800000) {  // subnormal: normalise, leaving a negative exponent
            ix = bits_of(x * 0x1p23f) & 0x7fffffff;
            ix -= 23 << 23;
        }
    }
    double ylogx = static_cast<double>(y) * log2_inline(ix);
    if (((__builtin_bit_cast(u64, ylogx) >> 47) & 0xffff) >= (__builtin_bit_cast(u64, 126.0) >> 47)) {
        // |y log2 x| >= 126: the result may not be a normal float.
        if (ylogx > 0x1.fffffffd1d571p+6)
            return (negative ? -huge : huge) * huge;
        if (ylogx <= -150.0)
            return (negative ? -tiny : tiny) * tiny;
    }
    return exp2_tail(ylogx, 0x1.8p+52 / 32, exp2_c0, exp2_c1, exp2_c2, negative);
}

#pragma clang attribute pop

}
