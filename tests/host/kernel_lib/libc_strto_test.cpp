// kl::strtol family and kl::strtod / kl::strtof (kernel_lib/libc/kstdlib.h) against glibc.
//
// Integers: random spacing, signs, prefixes, digits of every base, overflow and junk; the
// value and the end pointer must agree. Floating point: random decimal strings across the
// whole exponent range, the shortest round-trip strings of random doubles and floats, and
// exact halfway points between neighbouring values (plus strings just above and below),
// where only correct round-half-even rounding gets the same bits as glibc.
#include <catch2/catch.hpp>
#include <math.h>
#include <random>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>

#include "kernel_lib/libc/kstdlib.h"
#include "tests/host/test_support.h"

namespace {

constexpr int scale = test_support::trial_scale;

std::string random_integer_string(std::mt19937_64& rng, int base)
{
    const char* spaces[] = { "", "", " ", "\t\n\v\f\r " };
    const char* signs[] = { "", "", "+", "-" };
    std::string s = spaces[rng() % 4];
    s += signs[rng() % 4];
    if (rng() % 4 == 0 && (base == 0 || base == 16 || rng() % 2))
        s += (rng() % 2) ? "0x" : "0X";
    else if (rng() % 6 == 0)
        s += "0";
    const char* digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFXYZ";
    size_t n = rng() % 26;
    for (size_t i = 0; i < n; ++i)
        s += (rng() % 3 == 0) ? digits[rng() % 10] : digits[rng() % 46];
    const char* tails[] = { "", " 12", "xyz", ".5" };
    s += tails[rng() % 4];
    return s;
}

bool same_double(double a, double b)
{
    if (isnan(a) && isnan(b))
        return signbit(a) == signbit(b);
    return memcmp(&a, &b, sizeof(a)) == 0;
}

bool same_float(float a, float b)
{
    if (isnan(a) && isnan(b))
        return signbit(a) == signbit(b);
    return memcmp(&a, &b, sizeof(a)) == 0;
}

void check_double_and_float(const std::string& text)
{
    const char* s = text.c_str();
    char* mine_end = nullptr;
    char* theirs_end = nullptr;
    double mine = kl::strtod(s, &mine_end);
    double theirs = strtod(s, &theirs_end);
    if (!same_double(mine, theirs) || mine_end != theirs_end)
        FAIL("strtod(\"" << text << "\") = " << mine << " (end +" << (mine_end - s) << "), glibc " << theirs
                         << " (end +" << (theirs_end - s) << ")");
    float mine_f = kl::strtof(s, &mine_end);
    float theirs_f = strtof(s, &theirs_end);
    if (!same_float(mine_f, theirs_f) || mine_end != theirs_end)
        FAIL("strtof(\"" << text << "\") = " << mine_f << " (end +" << (mine_end - s) << "), glibc " << theirs_f
                         << " (end +" << (theirs_end - s) << ")");
}

std::string format(const char* fmt, long double value, int precision)
{
    static char buffer[2048];
    snprintf(buffer, sizeof(buffer), fmt, precision, value);
    return buffer;
}

double random_finite_double(std::mt19937_64& rng)
{
    for (;;) {
        uint64_t bits = rng();
        double d;
        memcpy(&d, &bits, sizeof(d));
        if (isfinite(d))
            return d;
    }
}

}

TEST_CASE("strtol family: values, clamping and end pointers match glibc", "[libc]")
{
    std::mt19937_64 rng(21);
    for (int trial = 0; trial < 40000 * scale; ++trial) {
        int base = (rng() % 3 == 0) ? 0 : static_cast<int>(2 + rng() % 35);
        if (rng() % 4 == 0)
            base = (rng() % 2) ? 10 : 16;
        std::string text = random_integer_string(rng, base);
        const char* s = text.c_str();
        char* e1 = nullptr;
        char* e2 = nullptr;
        CAPTURE(text, base);
        REQUIRE(kl::strtol(s, &e1, base) == strtol(s, &e2, base));
        REQUIRE(e1 == e2);
        REQUIRE(kl::strtoul(s, &e1, base) == strtoul(s, &e2, base));
        REQUIRE(e1 == e2);
        REQUIRE(kl::strtoll(s, &e1, base) == strtoll(s, &e2, base));
        REQUIRE(e1 == e2);
        REQUIRE(kl::strtoull(s, &e1, base) == strtoull(s, &e2, base));
        REQUIRE(e1 == e2);
        if (base == 10)
            REQUIRE(kl::atoi(s) == atoi(s));
    }
}

TEST_CASE("strtol edge cases", "[libc]")
{
    char* end = nullptr;
    const char* s = "9223372036854775807";
    CHECK(kl::strtol(s, &end, 10) == INT64_MAX);
    CHECK(kl::strtol("9223372036854775808", &end, 10) == INT64_MAX);  // clamped
    CHECK(kl::strtol("-9223372036854775808", &end, 10) == INT64_MIN);
    CHECK(kl::strtol("-9223372036854775809", &end, 10) == INT64_MIN);
    CHECK(kl::strtoul("18446744073709551616", &end, 10) == UINT64_MAX);
    CHECK(kl::strtoul("-1", &end, 10) == UINT64_MAX);  // C negates in the unsigned type
    const char* hex = "0x";
    CHECK(kl::strtol(hex, &end, 16) == 0);
    CHECK(end == hex + 1);  // "0", the x is not part of the number
    const char* none = "  +z";
    CHECK(kl::strtol(none, &end, 10) == 0);
    CHECK(end == none);  // no digits: no conversion
    CHECK(kl::strtol("0777", nullptr, 0) == 0777);
    CHECK(kl::strtol("0x1fZ", nullptr, 0) == 0x1f);
    CHECK(kl::strtol("zz", nullptr, 36) == 35 * 36 + 35);
    CHECK(kl::strtol("12", &end, 1) == 0);  // invalid base: nothing converted
    CHECK(kl::abs(-7) == 7);
    CHECK(kl::labs(-7000000000L) == 7000000000L);
    CHECK(kl::llabs(-3LL) == 3);
    CHECK(kl::atol("  -42x") == -42);
}

TEST_CASE("strtod / strtof: random decimal strings over the whole range", "[libc]")
{
    std::mt19937_64 rng(22);
    for (int trial = 0; trial < 25000 * scale; ++trial) {
        std::string s;
        if (rng() % 8 == 0)
            s += (rng() % 2) ? " -" : "+";
        int digits = 1 + static_cast<int>(rng() % 19);
        if (rng() % 10 == 0)
            digits = 20 + static_cast<int>(rng() % 60);  // more than 19 significant digits
        int point = static_cast<int>(rng() % (digits + 2)) - 1;
        for (int i = 0; i < digits; ++i) {
            if (i == point)
                s += '.';
            s += static_cast<char>('0' + rng() % 10);
        }
        int exponent = static_cast<int>(rng() % 720) - 360;
        s += (rng() % 2) ? "e" : "E";
        s += std::to_string(exponent);
        check_double_and_float(s);
    }
}

TEST_CASE("strtod / strtof: printed doubles and floats read back", "[libc]")
{
    std::mt19937_64 rng(23);
    char buffer[64];
    for (int trial = 0; trial < 20000 * scale; ++trial) {
        double d = random_finite_double(rng);
        snprintf(buffer, sizeof(buffer), "%.*g", static_cast<int>(1 + rng() % 19), d);
        check_double_and_float(buffer);
        uint32_t fb = static_cast<uint32_t>(rng());
        float f;
        memcpy(&f, &fb, sizeof(f));
        if (!isfinite(f))
            continue;
        snprintf(buffer, sizeof(buffer), "%.*g", static_cast<int>(1 + rng() % 10), f);
        check_double_and_float(buffer);
        snprintf(buffer, sizeof(buffer), "%.9g", f);
        REQUIRE(kl::strtof(buffer, nullptr) == f);  // 9 digits always round-trip a float
        snprintf(buffer, sizeof(buffer), "%.17g", d);
        REQUIRE(kl::strtod(buffer, nullptr) == d);  // 17 digits always round-trip a double
    }
}

TEST_CASE("strtod / strtof: exact halfway points round half to even", "[libc]")
{
    std::mt19937_64 rng(24);
    for (int trial = 0; trial < 1500 * scale; ++trial) {
        // The midpoint of two neighbouring doubles is exact in x87 long double, and glibc
        // prints it exactly with enough digits (up to 767 significant ones).
        double d = random_finite_double(rng);
        if (rng() % 4 == 0)
            d = ldexp(static_cast<double>(rng() % 1000), -1074 + static_cast<int>(rng() % 60));  // subnormals
        d = fabs(d);
        double next = nextafter(d, __builtin_inf());
        if (!isfinite(next))
            continue;
        long double mid = (static_cast<long double>(d) + static_cast<long double>(next)) / 2;
        std::string exact = format("%.*Le", mid, 800);
        check_double_and_float(exact);
        // Just above the midpoint: a non-zero digit far beyond the 800 kept digits.
        size_t e = exact.find('e');
        check_double_and_float(exact.substr(0, e) + std::string(150, '0') + "1" + exact.substr(e));
        for (int digits : { 16, 17, 18, 19, 20, 25, 40 })
            check_double_and_float(format("%.*Le", mid, digits));

        float f = static_cast<float>(rng() % 2 ? d : ldexp(static_cast<double>(rng() % 100000), -149));
        if (!isfinite(f))
            continue;
        float fnext = nextafterf(f, __builtin_inff());
        double fmid = (static_cast<double>(f) + static_cast<double>(fnext)) / 2;
        check_double_and_float(format("%.*Le", fmid, 150));
        for (int digits : { 8, 9, 10, 12 })
            check_double_and_float(format("%.*Le", fmid, digits));
    }
}

TEST_CASE("strtod / strtof: special spellings, limits and end pointers", "[libc]")
{
    const char* cases[] = { "0", "-0", "+.5", ".", "-.e1", "e5", "1e", "1e+", "1e-x", "1.5e3xyz", "  \t7", "inf", "-INF",
        "Infinity", "infinit", "nan", "-NaN", "nan()", "nan(abc_1)", "nan(", "nanx", "1e309", "-1e309", "1e-400",
        "2.4703282292062327e-324", "2.4703282292062328e-324", "4.9406564584124654e-324", "2.2250738585072011e-308",
        "2.2250738585072014e-308", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        "3.4028234e38", "3.40282356e38", "3.40282357e38", "1.4e-45", "7.006e-46", "7.0064923216240854e-46",
        "7.0064923216240862e-46", "1.17549435e-38", "0.000000000000000000000000000000000000000000001e45",
        "123456789012345678901234567890e-30", "9007199254740993", "1e23", "8.589973e9", "0.1", "100000000000000000000000",
        "00000000000000000000000000000000001", "1e99999999999", "1e-99999999999" };
    for (const char* c : cases)
        check_double_and_float(c);
    // 1000 significant digits: only the first 800 are used exactly, the rest break ties.
    std::string long_one = "1." + std::string(998, '0') + "1";
    check_double_and_float(long_one);
    std::string long_mixed;
    std::mt19937_64 rng(25);
    for (int i = 0; i < 1200; ++i)
        long_mixed += static_cast<char>('0' + rng() % 10);
    check_double_and_float(long_mixed + "e-1000");
    check_double_and_float("0." + long_mixed);
    CHECK(kl::atof("2.5") == 2.5);
}
