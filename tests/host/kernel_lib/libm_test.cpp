// kl:: libm (kernel_lib/libm/math.h) against glibc's float functions and, as an exact
// reference, glibc's double-precision functions rounded once to float.
//
// Millions of inputs per function and range: random inputs over the ranges the model uses
// (expf on [-104, 89], powf(10000, y) for y in [0, 1], RoPE angles pos * freq, |x| <= 1e5 for
// sinf / cosf) and sweeps over the whole float line with a fixed stride. expf, powf, sinf
// and cosf follow glibc's algorithm so that sampled stories match run.c's: on a CPU with
// FMA (where glibc runs its FMA build, which the reference stories came from) they must
// return glibc's exact bits; elsewhere, and for logf, the bound is 1 ulp. sqrt, floor,
// round and fabs are exact. BAREFLOW_LIBM_REPORT=1 prints the measured figures.
#include <catch2/catch.hpp>
#include <math.h>
#include <random>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

#include "kernel_lib/cpu/features.h"
#include "kernel_lib/libm/math.h"
#include "tests/host/test_support.h"

namespace {

constexpr int scale = test_support::trial_scale;

float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof(f));
    return f;
}

uint32_t to_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof(b));
    return b;
}

// Floats in order as integers, so that neighbours differ by one (and -0 == +0).
int64_t ordinal(float f)
{
    int32_t i = static_cast<int32_t>(to_bits(f));
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : i;
}

int64_t ulp_distance(float a, float b)
{
    if (isnan(a) || isnan(b))
        return (isnan(a) && isnan(b)) ? 0 : INT32_MAX;
    int64_t d = ordinal(a) - ordinal(b);
    return d < 0 ? -d : d;
}

// |result - exact| in units of the float ulp at the exact value.
double ulp_error(float result, double exact)
{
    if (isnan(exact) || isnan(result))
        return (isnan(exact) && isnan(result)) ? 0 : 1e9;
    // Beyond FLT_MAX plus half an ulp the correctly rounded float is infinity.
    if (fabs(exact) >= 0x1.ffffffp127)
        exact = exact < 0 ? -__builtin_inf() : __builtin_inf();
    if (isinf(exact) || isinf(result))
        return (static_cast<double>(result) == exact) ? 0 : 1e9;
    int e;
    frexp(exact, &e);  // exact = m * 2^e, m in [0.5, 1)
    int ulp_exponent = e - 24 < -149 ? -149 : e - 24;
    return fabs(static_cast<double>(result) - exact) / ldexp(1.0, ulp_exponent);
}

struct Accuracy {
    const char* name;
    int64_t max_vs_glibc = 0;
    double max_vs_exact = 0;
    float worst_input = 0;
    long count = 0;
    long differing = 0;

    void add(float x, float mine, float glibc, double exact)
    {
        ++count;
        int64_t d = ulp_distance(mine, glibc);
        differing += d != 0;
        if (d > max_vs_glibc) {
            max_vs_glibc = d;
            worst_input = x;
        }
        double err = ulp_error(mine, exact);
        if (err > max_vs_exact)
            max_vs_exact = err;
    }

    void report() const
    {
        if (getenv("BAREFLOW_LIBM_REPORT"))
            printf("libm %-30s %9ld inputs: max %lld ulp from glibc (%ld differ, first worst at %a), max %.6f ulp from exact\n",
                name, count, static_cast<long long>(max_vs_glibc), differing, static_cast<double>(worst_input), max_vs_exact);
    }
};

// Every `stride`-th float bit pattern (both signs, all exponents, inf and nan).
template<typename F>
void sweep(uint32_t stride, F&& f)
{
    for (uint64_t b = 0; b <= 0xffffffffull; b += stride)
        f(from_bits(static_cast<uint32_t>(b)));
}

constexpr long random_count = 1000000L * scale;

// glibc selects its FMA build of these functions at run time on CPUs with FMA; that is the
// build our versions reproduce bit for bit.
bool glibc_uses_fma() { return __builtin_cpu_supports("fma"); }

// The contract for the functions the model calls: identical to glibc where glibc runs its
// FMA build, within 1 ulp anywhere.
void check_glibc_compatible(const Accuracy& a)
{
    CAPTURE(a.name, a.worst_input, a.differing);
    CHECK(a.max_vs_glibc <= 1);
    if (glibc_uses_fma())
        CHECK(a.differing == 0);
}
constexpr uint32_t sweep_stride = 4001 / scale;  // ~1M to ~4M floats

}

TEST_CASE("expf: glibc's bits on [-104, 89] and everywhere", "[libm]")
{
    std::mt19937 rng(41);
    std::uniform_real_distribution<float> range(-104.0f, 89.0f);
    Accuracy model_range { "expf [-104, 89]" };
    for (long i = 0; i < random_count; ++i) {
        float x = range(rng);
        model_range.add(x, kl::expf(x), expf(x), exp(static_cast<double>(x)));
    }
    Accuracy everywhere { "expf sweep" };
    sweep(sweep_stride, [&](float x) { everywhere.add(x, kl::expf(x), expf(x), exp(static_cast<double>(x))); });
    model_range.report();
    everywhere.report();
    check_glibc_compatible(model_range);
    check_glibc_compatible(everywhere);
    // The only two floats where glibc's fused multiply-adds round differently (found by an
    // exhaustive search): 1 ulp apart there.
    for (float x : { 0x1.04845ep+5f, -0x1.f8cbb2p+5f })
        CHECK(ulp_distance(kl::expf(x), expf(x)) <= 1);
    CHECK(kl::expf(0.0f) == 1.0f);
    CHECK(kl::expf(-104.5f) == 0.0f);
    CHECK(kl::expf(88.8f) == __builtin_inff());
    CHECK(kl::expf(__builtin_inff()) == __builtin_inff());
    CHECK(kl::expf(-__builtin_inff()) == 0.0f);
    CHECK(isnan(kl::expf(__builtin_nanf(""))));
}

namespace {

// Every 97th float bit pattern (all of them: large, tiny, inf, nan) in runs of 11 through
// `each`, so that the runs end in every tail length and mix special and ordinary lanes:
// how many results differ from expf's bits.
size_t expf_lanes_differing(void (*each)(float*, int))
{
    std::vector<float> values, expected;
    for (uint64_t b = 0; b < (1ull << 32); b += 97) {
        float x;
        uint32_t u = static_cast<uint32_t>(b);
        memcpy(&x, &u, 4);
        values.push_back(x);
        expected.push_back(kl::expf(x));
    }
    for (size_t first = 0; first < values.size(); first += 11) {
        const int n = static_cast<int>(values.size() - first < 11 ? values.size() - first : 11);
        each(values.data() + first, n);
    }
    size_t differ = 0;
    for (size_t i = 0; i < values.size(); ++i)
        differ += memcmp(&values[i], &expected[i], 4) != 0;
    return differ;
}

}

TEST_CASE("expf_avx2 and expf_avx512: expf's bits, special cases and tails included", "[libm]")
{
    if (!kl::cpu::features().avx2_usable) {
        WARN("no AVX2 on this CPU: expf_avx2 not tested");
        return;
    }
    CHECK(expf_lanes_differing(kl::expf_avx2) == 0);
    if (!kl::cpu::features().avx512_usable) {
        WARN("no AVX-512 on this CPU: expf_avx512 not tested");
        return;
    }
    CHECK(expf_lanes_differing(kl::expf_avx512) == 0);
}

TEST_CASE("logf: within 1 ulp of glibc for every positive float", "[libm]")
{
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> near_one(0.5f, 2.0f);
    Accuracy around_one { "logf [0.5, 2]" };
    for (long i = 0; i < random_count; ++i) {
        float x = near_one(rng);
        around_one.add(x, kl::logf(x), logf(x), log(static_cast<double>(x)));
    }
    Accuracy everywhere { "logf sweep (incl. neg, 0, inf)" };
    sweep(sweep_stride, [&](float x) { everywhere.add(x, kl::logf(x), logf(x), log(static_cast<double>(x))); });
    around_one.report();
    everywhere.report();
    CHECK(around_one.max_vs_glibc <= 1);
    CHECK(everywhere.max_vs_glibc <= 1);
    CHECK(kl::logf(1.0f) == 0.0f);
    CHECK(kl::logf(0.0f) == -__builtin_inff());
    CHECK(kl::logf(-0.0f) == -__builtin_inff());
    CHECK(isnan(kl::logf(-1.0f)));
    CHECK(kl::logf(__builtin_inff()) == __builtin_inff());
    CHECK(kl::logf(from_bits(1)) == logf(from_bits(1)));  // smallest subnormal
}

TEST_CASE("powf: glibc's bits for the RoPE base and general inputs", "[libm]")
{
    std::mt19937 rng(43);
    Accuracy rope { "powf(10000, y in [0,1])" };
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (long i = 0; i < random_count; ++i) {
        float y = unit(rng);
        rope.add(y, kl::powf(10000.0f, y), powf(10000.0f, y), pow(10000.0, static_cast<double>(y)));
    }
    // Every float in [0, 1] with a stride.
    for (uint32_t b = 0; b <= 0x3f800000u; b += 256 * 4 / scale) {
        float y = from_bits(b);
        rope.add(y, kl::powf(10000.0f, y), powf(10000.0f, y), pow(10000.0, static_cast<double>(y)));
    }
    Accuracy general { "powf x in (0,100), |y| <= 30" };
    std::uniform_real_distribution<float> base(0.0f, 100.0f);
    std::uniform_real_distribution<float> exponent(-30.0f, 30.0f);
    for (long i = 0; i < random_count; ++i) {
        float x = base(rng);
        float y = exponent(rng);
        general.add(x, kl::powf(x, y), powf(x, y), pow(static_cast<double>(x), static_cast<double>(y)));
    }
    Accuracy any { "powf random bits" };
    for (long i = 0; i < random_count; ++i) {
        float x = from_bits(static_cast<uint32_t>(rng()));
        float y = from_bits(static_cast<uint32_t>(rng()));
        if (i % 4 == 0)  // integer exponents, also for negative bases
            y = static_cast<float>(static_cast<int>(rng() % 41) - 20);
        if (i % 8 == 1)  // bases near 1, where large exponents stay finite
            x = 1.0f + static_cast<float>(static_cast<int>(rng() % 2001) - 1000) * 1e-6f;
        // (double)x quiets a signalling nan, and pow(qnan, 0) is 1: use glibc's float result
        // as the reference for nan inputs.
        double exact = (isnan(x) || isnan(y)) ? static_cast<double>(powf(x, y))
                                              : pow(static_cast<double>(x), static_cast<double>(y));
        any.add(x, kl::powf(x, y), powf(x, y), exact);
    }
    rope.report();
    general.report();
    any.report();
    check_glibc_compatible(rope);
    check_glibc_compatible(general);
    check_glibc_compatible(any);
}

TEST_CASE("powf: C99 Annex F special cases", "[libm]")
{
    const float inf = __builtin_inff();
    const float values[] = { 0.0f, -0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 2.0f, -2.0f, 2.5f, -2.5f, 3.0f, -3.0f, 1e-45f, -1e-45f,
        3.4e38f, -3.4e38f, 16777216.0f, -16777217.0f, inf, -inf, __builtin_nanf(""), 1e10f, -1e10f };
    for (float x : values) {
        for (float y : values) {
            CAPTURE(x, y);
            CHECK(ulp_distance(kl::powf(x, y), powf(x, y)) == 0);
            if (!isnan(powf(x, y)))
                CHECK(signbit(kl::powf(x, y)) == signbit(powf(x, y)));
        }
    }
}

TEST_CASE("sinf, cosf, sincosf: glibc's bits, RoPE angles included", "[libm]")
{
    std::mt19937 rng(44);
    Accuracy sin_range { "sinf |x| <= 1e5" };
    Accuracy cos_range { "cosf |x| <= 1e5" };
    std::uniform_real_distribution<float> range(-1e5f, 1e5f);
    std::uniform_real_distribution<float> small(-4.0f, 4.0f);
    for (long i = 0; i < random_count; ++i) {
        float x = (i % 4 == 0) ? small(rng) : range(rng);
        sin_range.add(x, kl::sinf(x), sinf(x), sin(static_cast<double>(x)));
        cos_range.add(x, kl::cosf(x), cosf(x), cos(static_cast<double>(x)));
    }
    // The angles a RoPE implementation computes: pos * 10000^(-i / head_size).
    Accuracy rope { "sincosf RoPE pos*freq" };
    for (int head_size : { 8, 32, 48, 64, 128 }) {
        for (int i = 0; i < head_size; i += 2) {
            // The frequency as run.c computes it; ours must agree (tinyllama/ops.cpp).
            float exponent = static_cast<float>(i) / static_cast<float>(head_size);
            float freq = 1.0f / powf(10000.0f, exponent);
            if (glibc_uses_fma())
                REQUIRE(1.0f / kl::powf(10000.0f, exponent) == freq);
            for (int pos = 0; pos < 4096; pos += (scale == 4 ? 1 : 3)) {
                float angle = static_cast<float>(pos) * freq;
                float s;
                float c;
                kl::sincosf(angle, &s, &c);
                rope.add(angle, s, sinf(angle), sin(static_cast<double>(angle)));
                rope.add(angle, c, cosf(angle), cos(static_cast<double>(angle)));
                REQUIRE(s == kl::sinf(angle));
                REQUIRE(c == kl::cosf(angle));
            }
        }
    }
    Accuracy sin_all { "sinf sweep (all floats)" };
    Accuracy cos_all { "cosf sweep (all floats)" };
    sweep(sweep_stride, [&](float x) {
        sin_all.add(x, kl::sinf(x), sinf(x), sin(static_cast<double>(x)));
        cos_all.add(x, kl::cosf(x), cosf(x), cos(static_cast<double>(x)));
    });
    for (auto* a : { &sin_range, &cos_range, &rope, &sin_all, &cos_all }) {
        a->report();
        check_glibc_compatible(*a);
    }
    CHECK(isnan(kl::sinf(__builtin_inff())));
    CHECK(isnan(kl::cosf(-__builtin_inff())));
    CHECK(isnan(kl::sinf(__builtin_nanf(""))));
    CHECK(signbit(kl::sinf(-0.0f)));
    CHECK(kl::cosf(0.0f) == 1.0f);
    // Hard cases for range reduction: the floats nearest multiples of pi/2.
    for (float x : { 1.5707964f, 3.1415927f, 4.712389f, 6.2831855f, 1e22f, 3.4e38f, 0x1.921fb6p+24f })
        CHECK(ulp_distance(kl::sinf(x), sinf(x)) <= 1);
}

TEST_CASE("sqrtf, fabsf, floorf, roundf and the double helpers are exact", "[libm]")
{
    long mismatches = 0;
    sweep(sweep_stride / 2 + 1, [&](float x) {
        mismatches += ulp_distance(kl::sqrtf(x), sqrtf(x)) != 0;
        mismatches += to_bits(kl::fabsf(x)) != to_bits(fabsf(x));
        mismatches += ulp_distance(kl::floorf(x), floorf(x)) != 0 || signbit(kl::floorf(x)) != signbit(floorf(x));
        mismatches += ulp_distance(kl::roundf(x), roundf(x)) != 0 || signbit(kl::roundf(x)) != signbit(roundf(x));
    });
    CHECK(mismatches == 0);
    // Fractions near halves and integers, where rounding goes wrong first.
    for (float x : { 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f, 8388607.5f, -8388607.5f, 8388608.0f,
             -0.0f, 0.0f, -0.3f, 0.3f, -1.0f, 1e-45f, -1e-45f, 16777215.0f }) {
        CAPTURE(x);
        CHECK(to_bits(kl::floorf(x)) == to_bits(floorf(x)));
        CHECK(to_bits(kl::roundf(x)) == to_bits(roundf(x)));
    }
    std::mt19937_64 rng(45);
    long double_mismatches = 0;
    for (long i = 0; i < random_count / 2; ++i) {
        uint64_t bits = rng();
        if (i % 2)  // moderate magnitudes, where floor has work to do
            bits = (bits & 0x800fffffffffffffull) | ((1023ull - 20 + rng() % 80) << 52);
        double x;
        memcpy(&x, &bits, sizeof(x));
        double a = kl::floor(x);
        double b = floor(x);
        double_mismatches += memcmp(&a, &b, sizeof(a)) != 0 && !(isnan(a) && isnan(b));
        a = kl::sqrt(x);
        b = sqrt(x);
        double_mismatches += memcmp(&a, &b, sizeof(a)) != 0 && !(isnan(a) && isnan(b));
        a = kl::fabs(x);
        b = fabs(x);
        double_mismatches += memcmp(&a, &b, sizeof(a)) != 0;
    }
    CHECK(double_mismatches == 0);
}
