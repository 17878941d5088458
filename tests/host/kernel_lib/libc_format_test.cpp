// kl::snprintf / kl::vsnprintf / kl::vformat (kernel_lib/libc/format.h) against glibc.
//
// Random conversion specifications (flags valid for the conversion, widths, precisions,
// `*`, every length modifier) with random arguments: integers of every width and the
// boundary values, doubles from random bit patterns (subnormals, huge, inf, nan, -0) and
// exact binary fractions (which put decimal ties at the printed precision), precisions up
// to 40 and sometimes up to 1100. Output bytes and return values must be identical, also
// when the buffer truncates.
#include <catch2/catch.hpp>
#include <limits.h>
#include <random>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <string>

#include "kernel_lib/libc/format.h"
#include "tests/host/test_support.h"

namespace {

constexpr int scale = test_support::trial_scale;

constexpr size_t buffer_size = 4096;

// Width / precision given with `*`: which of them, and their values.
struct Stars {
    bool width = false;
    bool precision = false;
    int width_value = 0;
    int precision_value = 0;
};

template<typename T>
void check_one(const std::string& fmt, const Stars& stars, T value, bool truncate, std::mt19937_64& rng)
{
    static char mine[buffer_size];
    static char theirs[buffer_size];
    size_t size = buffer_size;
    if (truncate)
        size = rng() % 40;
    memset(mine, 0x5A, sizeof(mine));
    memset(theirs, 0x5A, sizeof(theirs));
    int a;
    int b;
    const char* f = fmt.c_str();
    int w = stars.width_value;
    int p = stars.precision_value;
    if (stars.width && stars.precision) {
        a = kl::snprintf(mine, size, f, w, p, value);
        b = snprintf(theirs, size, f, w, p, value);
    } else if (stars.width) {
        a = kl::snprintf(mine, size, f, w, value);
        b = snprintf(theirs, size, f, w, value);
    } else if (stars.precision) {
        a = kl::snprintf(mine, size, f, p, value);
        b = snprintf(theirs, size, f, p, value);
    } else {
        a = kl::snprintf(mine, size, f, value);
        b = snprintf(theirs, size, f, value);
    }
    // Byte-exact, embedded NULs (%c of 0) and the untouched tail included.
    if (a != b || memcmp(mine, theirs, sizeof(mine)) != 0) {
        size_t shown = static_cast<size_t>(b) < size ? static_cast<size_t>(b) : (size ? size - 1 : 0);
        FAIL("format \"" << fmt << "\" size " << size << " stars w=" << w << " p=" << p << ": got " << a << " ["
                         << std::string(mine, shown) << "], glibc " << b << " [" << std::string(theirs, shown) << "]");
    }
}

// A conversion specification with random flags (those C defines for `conv`), width and
// precision; fills `stars` when `*` is used.
std::string random_spec(std::mt19937_64& rng, char conv, const char* flags, const char* length, bool allow_precision,
    int max_precision, Stars& stars)
{
    std::string s = "%";
    for (const char* f = flags; *f; ++f) {
        if (rng() % 3 == 0)
            s += *f;
    }
    switch (rng() % 4) {
    case 0: break;
    case 1: s += std::to_string(rng() % 30); break;
    case 2: s += std::to_string(rng() % 120); break;
    case 3:
        s += '*';
        stars.width = true;
        stars.width_value = static_cast<int>(rng() % 61) - 30;  // negative means '-'
        break;
    }
    if (allow_precision) {
        switch (rng() % 5) {
        case 0: break;
        case 1: s += "."; break;
        case 2:
        case 3: s += "." + std::to_string(rng() % (max_precision + 1)); break;
        case 4:
            s += ".*";
            stars.precision = true;
            stars.precision_value = static_cast<int>(rng() % (max_precision + 5)) - 4;  // negative: as if omitted
            break;
        }
    }
    s += length;
    s += conv;
    return s;
}

// Random integers with the boundaries over-represented.
uint64_t random_integer(std::mt19937_64& rng)
{
    switch (rng() % 6) {
    case 0: return rng() % 20;
    case 1: return static_cast<uint64_t>(-static_cast<int64_t>(rng() % 20));
    case 2: {
        const uint64_t edges[] = { 0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
            0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff };
        return edges[rng() % 14];
    }
    case 3: return rng() >> (rng() % 64);
    default: return rng();
    }
}

double random_double(std::mt19937_64& rng)
{
    switch (rng() % 5) {
    case 0: {  // any bit pattern: subnormals, huge, tiny, inf, nan
        uint64_t bits = rng();
        double d;
        memcpy(&d, &bits, sizeof(d));
        return d;
    }
    case 1: {  // exact binary fractions: decimal ties at some precision
        double d = static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000);
        return d / static_cast<double>(1ull << (rng() % 30));
    }
    case 2: {  // human-scale values
        std::uniform_real_distribution<double> u(-1000, 1000);
        return u(rng);
    }
    case 3: {  // powers of ten and their neighbours (%g switching points)
        double d = 1;
        int e = static_cast<int>(rng() % 40) - 20;
        for (int i = 0; i < (e < 0 ? -e : e); ++i)
            d = e < 0 ? d / 10 : d * 10;
        return (rng() % 2) ? d : d * (1 - 1e-7 * static_cast<double>(rng() % 3));
    }
    default: {
        const double specials[] = { 0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, 0.125, 9.5, 99.5, 0.05, 0.15, 1e300, 5e-324,
            2.2250738585072014e-308, 1.7976931348623157e308, __builtin_inf(), -__builtin_inf(), __builtin_nan(""),
            -__builtin_nan(""), 999999.5, 0.000099999, 123456789.0 };
        return specials[rng() % (sizeof(specials) / sizeof(specials[0]))];
    }
    }
}

}

TEST_CASE("integer conversions match glibc for random specs", "[libc]")
{
    std::mt19937_64 rng(11);
    const char* lengths[] = { "hh", "h", "", "l", "ll", "z", "j", "t" };
    for (int trial = 0; trial < 60000 * scale; ++trial) {
        Stars stars;
        const char* length = lengths[rng() % 8];
        bool wide = strlen(length) > 0 && length[0] != 'h';
        char conv = "diuxXo"[rng() % 6];
        const char* flags = (conv == 'd' || conv == 'i') ? "-+ 0" : conv == 'u' ? "-0" : "-0#";
        std::string fmt = "<" + random_spec(rng, conv, flags, length, true, 25, stars) + ">";
        uint64_t v = random_integer(rng);
        bool truncate = trial % 8 == 0;
        if (wide)
            check_one(fmt, stars, static_cast<long long>(v), truncate, rng);
        else
            check_one(fmt, stars, static_cast<int>(static_cast<uint32_t>(v)), truncate, rng);
    }
}

TEST_CASE("%c %s %p and %% match glibc", "[libc]")
{
    std::mt19937_64 rng(12);
    const char* strings[] = { "", "a", "hello", "tab\there", "0123456789abcdefghijklmnopqrstuvwxyz", nullptr };
    for (int trial = 0; trial < 10000 * scale; ++trial) {
        Stars stars;
        bool truncate = trial % 8 == 0;
        switch (rng() % 4) {
        case 0: {
            std::string fmt = "[" + random_spec(rng, 'c', "-", "", false, 0, stars) + "]";
            check_one(fmt, stars, static_cast<int>(rng() % 256), truncate, rng);
            break;
        }
        case 1: {
            std::string fmt = "[" + random_spec(rng, 's', "-", "", true, 12, stars) + "]";
            check_one(fmt, stars, strings[rng() % 6], truncate, rng);
            break;
        }
        case 2: {
            std::string fmt = "[" + random_spec(rng, 'p', "-", "", false, 0, stars) + "]";
            void* p = (rng() % 4 == 0) ? nullptr : reinterpret_cast<void*>(static_cast<uintptr_t>(random_integer(rng)));
            check_one(fmt, stars, p, truncate, rng);
            break;
        }
        default:
            check_one(std::string("100%% %d"), stars, static_cast<int>(rng() % 100), truncate, rng);
            break;
        }
    }
}

TEST_CASE("floating point conversions match glibc digit for digit", "[libc]")
{
    std::mt19937_64 rng(13);
    for (int trial = 0; trial < 50000 * scale; ++trial) {
        Stars stars;
        char conv = "fFeEgG"[rng() % 6];
        // Mostly precisions up to 40; sometimes far more (all digits of tiny subnormals).
        int max_precision = (rng() % 50 == 0) ? 1100 : 40;
        std::string fmt = "(" + random_spec(rng, conv, "-+ 0#", "", true, max_precision, stars) + ")";
        double v = random_double(rng);
        check_one(fmt, stars, v, trial % 8 == 0, rng);
    }
}

TEST_CASE("%L formats long doubles that hold double values", "[libc]")
{
    std::mt19937_64 rng(14);
    for (int trial = 0; trial < 2000 * scale; ++trial) {
        Stars stars;
        char conv = "feg"[rng() % 3];
        std::string fmt = random_spec(rng, conv, "-+ 0#", "L", true, 30, stars);
        double v = random_double(rng);
        check_one(fmt, stars, static_cast<long double>(v), false, rng);
    }
}

TEST_CASE("every digit of extreme doubles, exact ties and carries", "[libc]")
{
    std::mt19937_64 rng(15);
    Stars none;
    check_one("%.1100f", none, 5e-324, false, rng);  // 1074 fraction digits, then zeros
    check_one("%.800e", none, 5e-324, false, rng);
    check_one("%.800e", none, 2.2250738585072009e-308, false, rng);
    check_one("%f", none, 1.7976931348623157e308, false, rng);  // all 309 integer digits
    check_one("%.400g", none, 1.7976931348623157e308, false, rng);
    for (double v : { 0.5, 1.5, 2.5, 3.5, 0.125, 0.375, 9.5, 99.95, 999.9996, 0.0005, 1e21, 1e-5 }) {
        for (const char* fmt : { "%.0f", "%.1f", "%.2f", "%.3f", "%.0e", "%.1e", "%.2e", "%.1g", "%.2g", "%#.0f", "%#.0e",
                 "%g", "%#g", "%G", "%+.3e", "% .2f", "%010.2f", "%-12.3e|" })
            check_one(fmt, none, v, false, rng);
    }
}

TEST_CASE("several conversions in one format", "[libc]")
{
    char mine[256];
    char theirs[256];
    const char* s = "x";
    int a = kl::snprintf(mine, sizeof(mine), "%s=%d %5.2f|%-6x|%c%%%lld %e %p", s, -42, 3.14159, 255u, 'Z', -1ll, 1e-10,
        static_cast<void*>(mine));
    int b = snprintf(theirs, sizeof(theirs), "%s=%d %5.2f|%-6x|%c%%%lld %e %p", s, -42, 3.14159, 255u, 'Z', -1ll, 1e-10,
        static_cast<void*>(mine));
    CHECK(a == b);
    CHECK(std::string(mine) == std::string(theirs));
}

TEST_CASE("truncation: return value is the full length, output always terminated", "[libc]")
{
    char buffer[8];
    memset(buffer, 'x', sizeof(buffer));
    CHECK(kl::snprintf(buffer, 4, "%d", 123456) == 6);
    CHECK(std::string(buffer) == "123");
    CHECK(buffer[4] == 'x');
    CHECK(kl::snprintf(nullptr, 0, "%s and %s", "this", "that") == 13);
    memset(buffer, 'x', sizeof(buffer));
    CHECK(kl::snprintf(buffer, 1, "abc") == 3);
    CHECK(buffer[0] == 0);
    CHECK(buffer[1] == 'x');
    CHECK(kl::snprintf(buffer, sizeof(buffer), "%s", "") == 0);
    CHECK(buffer[0] == 0);
}

namespace {

struct Collected {
    std::string text;
    int calls = 0;
};

void collect(void* context, const char* bytes, size_t length)
{
    auto* c = static_cast<Collected*>(context);
    c->text.append(bytes, length);
    ++c->calls;
}

int via_sink(Collected& out, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = kl::vformat(collect, &out, fmt, args);
    va_end(args);
    return n;
}

}

TEST_CASE("vformat streams long output to the sink in pieces", "[libc]")
{
    Collected out;
    int n = via_sink(out, "%s|%300d|%.200f", "start", 7, 1.0 / 3);
    char expected[1024];
    int m = snprintf(expected, sizeof(expected), "%s|%300d|%.200f", "start", 7, 1.0 / 3);
    CHECK(n == m);
    CHECK(out.text == std::string(expected));
    CHECK(out.calls > 1);  // more than one buffer's worth
}

TEST_CASE("unknown conversions are copied through", "[libc]")
{
    char buffer[64];
    // Through variables: the compiler would rightly reject these as literals.
    const char* unknown = "a%yb";
    const char* dangling = "end%";
    CHECK(kl::snprintf(buffer, sizeof(buffer), unknown, 0) == 4);
    CHECK(std::string(buffer) == "a%yb");
    CHECK(kl::snprintf(buffer, sizeof(buffer), dangling, 0) == 4);
    CHECK(std::string(buffer) == "end%");
}
