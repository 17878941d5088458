// logf and the rounding / sqrt / abs helpers (kernel_lib/libm/math.h); expf and powf are
// in exp.cpp, the trigonometric functions in trig.cpp.
//
// logf computes in double precision (a short series on a reduced argument, ~1e-16
// relative error) and rounds once at the end: correctly rounded except within ~1e-16 of a
// halfway point, so within 1 ulp of glibc (tests/host/kernel_lib/libm_test.cpp). The model
// does not call it, so it need not reproduce glibc's bits as expf / powf / sinf do. sqrt is
// the SSE instruction, exact by definition. Nothing here sets errno.
#include "kernel_lib/libm/math.h"

#include <emmintrin.h>
#include <xmmintrin.h>

#include "kernel_lib/base/types.h"

namespace kl {

// Built for size (like -Oz): kernel_lib has a small code budget, and none of this is on
// a hot path.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

namespace {

constexpr double ln2_hi = 0x1.62e42feep-1;  // top 32 bits: k * ln2_hi is exact for |k| < 2^21
constexpr double ln2_lo = 0x1.a39ef35793c76p-33;

// c[k] = 1 / (2k + 1): log(m) = 2 s (1 + s^2/3 + s^4/5 + ...), s = (m - 1) / (m + 1).
struct LogCoefficients {
    double c[10];
    constexpr LogCoefficients() : c {}
    {
        for (int k = 0; k < 10; ++k)
            c[k] = 1.0 / (2 * k + 1);
    }
};
constexpr LogCoefficients log_poly;

// ln(x) for a positive normal double: x = 2^e m with m in [sqrt(1/2), sqrt(2)).
double log_core(double x)
{
    u64 bits = __builtin_bit_cast(u64, x);
    int e = static_cast<int>(bits >> 52) - 1023;
    double m = __builtin_bit_cast(double, (bits & ((1ull << 52) - 1)) | (1023ull << 52));
    if (m > 0x1.6a09e667f3bcdp+0) {
        m *= 0.5;
        ++e;
    }
    double s = (m - 1) / (m + 1);
    double s2 = s * s;
    double p = log_poly.c[9];
    for (int i = 8; i >= 0; --i)
        p = p * s2 + log_poly.c[i];
    return e * ln2_hi + (2 * s * p + e * ln2_lo);
}

constexpr float float_inf = __builtin_inff();
constexpr float float_nan = __builtin_nanf("");

}

float logf(float x)
{
    if (x != x)
        return x + x;
    if (x < 0.0f)
        return float_nan;
    if (x == 0.0f)
        return -float_inf;
    if (x == float_inf)
        return x;
    // Every float, subnormals included, is a normal double.
    return static_cast<float>(log_core(x));
}

float sqrtf(float x) { return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x))); }
double sqrt(double x) { return _mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd(x))); }

float fabsf(float x) { return __builtin_fabsf(x); }
double fabs(double x) { return __builtin_fabs(x); }

// Below 2^23 (2^52 for double) a float may have a fraction; above, it is an integer
// (or inf / nan) already. Truncation through an integer register needs no SSE4.1.
float floorf(float x)
{
    if (!(kl::fabsf(x) < 0x1p23f))
        return x;
    float t = static_cast<float>(static_cast<i32>(x));
    if (t > x)
        t -= 1.0f;
    return __builtin_copysignf(t, x);  // floorf(-0.0f) is -0.0f
}

double floor(double x)
{
    if (!(kl::fabs(x) < 0x1p52))
        return x;
    double t = static_cast<double>(static_cast<i64>(x));
    if (t > x)
        t -= 1.0;
    return __builtin_copysign(t, x);
}

float roundf(float x)
{
    if (!(kl::fabsf(x) < 0x1p23f))
        return x;
    float t = static_cast<float>(static_cast<i32>(x));
    float fraction = x - t;  // exact
    if (fraction >= 0.5f)
        t += 1.0f;
    else if (fraction <= -0.5f)
        t -= 1.0f;
    return __builtin_copysignf(t, x);  // roundf(-0.3f) is -0.0f
}

#pragma clang attribute pop

}
