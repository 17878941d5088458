// sinf, cosf and sincosf, returning glibc's bits (kernel_lib/libm/math.h).
//
// RoPE rotates every query and key by sin / cos of pos * freq, and a 1-ulp difference
// there shifts logits enough to flip a sampled token now and then; matching run.c's
// stories byte for byte needs glibc's exact results. So this follows glibc's algorithm
// (from Arm's optimized-routines; max error 0.56 ulp) with its published coefficients:
//   |x| < ~pi/4: a short polynomial in double;
//   |x| < 120:   x - n pi/2 with n = round(x 2/pi), computed as exactly as glibc's fused
//                multiply-add does (pi/2 split in two), then the polynomial;
//   otherwise:   Payne-Hanek with 96 bits of 2/pi, giving the same 62-bit fixed-point
//                remainder as glibc.
// An exhaustive comparison over every float with |x| < 120 found no difference from
// glibc; tests/host/kernel_lib/libm_test.cpp keeps checking millions of inputs.
#include "kernel_lib/base/types.h"
#include "kernel_lib/libm/math.h"

namespace kl {

// Built for size (like -Oz): kernel_lib has a small code budget, and these run once per
// activation element, a rounding error next to the matrix products.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

namespace {

// sin r ~ r + s1 r^3 + s2 r^5 + s3 r^7 and cos r ~ 1 + c1 r^2 + ... + c4 r^8 on
// [-pi/4, pi/4] (glibc's coefficients).
constexpr double s1 = -0x1.555545995a603p-3;
constexpr double s2 = 0x1.1107605230bc4p-7;
constexpr double s3 = -0x1.994eb3774cf24p-13;
constexpr double c1 = -0x1.ffffffd0c621cp-2;
constexpr double c2 = 0x1.55553e1068f19p-5;
constexpr double c3 = -0x1.6c087e89a359dp-10;
constexpr double c4 = 0x1.99343027bf8c3p-16;

constexpr double pi_over_2 = 0x1.921fb54442d18p+0;
constexpr double pi_over_2_hi = 0x1.921fb54p+0;  // 29 bits: n * hi is exact for |n| < 2^24
constexpr double pi_over_2_lo = pi_over_2 - pi_over_2_hi;  // exact, 20 bits
constexpr double two_over_pi_2_24 = 0x1.45f306dc9c883p+23;  // 2/pi * 2^24

// Bits 1..256 of 2/pi after the binary point, most significant first, behind one zero
// word standing for the (zero) bits before the point.
constexpr u64 two_over_pi[5] = {
    0,
    0xa2f9836e4e441529ull,
    0xfc2757d1f534ddc0ull,
    0xdb6295993c439041ull,
    0xfe5163abdebbc561ull,
};

// The evaluation orders below are glibc's: each rounding step must be the same.
double sin_poly(double r, double r2)
{
    double r3 = r * r2;
    double tail = s2 + r2 * s3;
    double r7 = r3 * r2;
    double s = r + r3 * s1;
    return s + r7 * tail;
}

double cos_poly(double r2)
{
    double r4 = r2 * r2;
    double tail = c3 + r2 * c4;
    double head = 1.0 + r2 * c1;
    double r6 = r4 * r2;
    double c = head + r4 * c2;
    return c + r6 * tail;
}

// The 32 bits of 2/pi ending at bit 8 * (j + 1) (bit 1 being the first after the point).
u32 two_over_pi_window(int j)
{
    int position = 8 * j + 40;  // of the window's first bit in the table, counting its zero word
    int word = position >> 6;
    int shift = position & 63;
    u64 bits = two_over_pi[word] << shift;
    if (shift)
        bits |= two_over_pi[word + 1] >> (64 - shift);
    return static_cast<u32>(bits >> 32);
}

// For |x| >= 120: the remainder of |x| modulo pi/2 (in [-pi/4, pi/4]) and the quadrant.
// The 32 x 96-bit product gives |x| * 2/pi as a 2.62 fixed-point number modulo 4.
double reduce_large(u32 ix, int& quadrant)
{
    int j = (ix >> 26) & 15;
    int shift = (ix >> 23) & 7;
    u32 m = ((ix & 0xffffff) | 0x800000) << shift;
    u64 top = static_cast<u32>(m * two_over_pi_window(j));
    u64 middle = static_cast<u64>(m) * two_over_pi_window(j + 4);
    u64 bottom = static_cast<u64>(m) * two_over_pi_window(j + 8);
    u64 fixed = ((bottom >> 32) | (top << 32)) + middle;
    u64 n = (fixed + (1ull << 61)) >> 62;  // nearest quadrant
    fixed -= n << 62;
    quadrant = static_cast<int>(n);
    return static_cast<double>(static_cast<i64>(fixed)) * (pi_over_2 * 0x1p-62);  // 2^62 units per quadrant
}

// x = r + n pi/2: the reduced argument, whether sin and cos swap places (n odd), and the
// signs to give the sin polynomial (through r, as sin is odd) and the cos polynomial.
struct Reduced {
    double r;
    bool swap;
    bool negate_sin_poly;
    bool negate_cos_poly;
};

Reduced reduce(float x)
{
    u32 ix = __builtin_bit_cast(u32, x);
    u32 abstop = (ix >> 20) & 0x7ff;
    double xd = x;
    if (abstop < 0x3f4)  // |x| < 0.75: no reduction
        return { xd, false, false, false };
    int n;
    int sign_shift = 0;
    double r;
    if (abstop < 0x42f) {  // |x| < 120
        // n = round(x 2/pi) in 8.24 fixed point (glibc's way); then x - n pi/2 with one
        // rounding: n * hi and x - n * hi are exact, n * lo too.
        n = (static_cast<int>(xd * two_over_pi_2_24) + 0x800000) >> 24;
        r = (xd - n * pi_over_2_hi) - n * pi_over_2_lo;
    } else {
        r = reduce_large(ix, n);
        sign_shift = static_cast<int>(ix >> 31);  // reduce_large works on |x|
    }
    // The signs follow q = n, plus one for a negative x reduced through |x| (sin(-x) is
    // -sin x; cos is even, and the shifted quadrant gives it the same sign as for |x|).
    int q = n + sign_shift;
    return { r, (n & 1) != 0, ((q + 1) & 2) != 0, (q & 2) != 0 };
}

}

void sincosf(float x, float* sin_out, float* cos_out)
{
    u32 abstop = (__builtin_bit_cast(u32, x) >> 20) & 0x7ff;
    if (abstop >= 0x7f8) {  // inf or nan
        *sin_out = *cos_out = (x - x) / (x - x);
        return;
    }
    if (abstop < 0x398) {  // |x| < 2^-12: sin x is x and cos x is 1 once rounded
        *sin_out = x;
        *cos_out = 1.0f;
        return;
    }
    Reduced red = reduce(x);
    double r2 = red.r * red.r;
    double s = sin_poly(red.negate_sin_poly ? -red.r : red.r, r2);
    double c = cos_poly(r2);
    if (red.negate_cos_poly)
        c = -c;
    *sin_out = static_cast<float>(red.swap ? c : s);
    *cos_out = static_cast<float>(red.swap ? s : c);
}

float sinf(float x)
{
    float s;
    float c;
    kl::sincosf(x, &s, &c);
    return s;
}

float cosf(float x)
{
    float s;
    float c;
    kl::sincosf(x, &s, &c);
    return c;
}

#pragma clang attribute pop

}
