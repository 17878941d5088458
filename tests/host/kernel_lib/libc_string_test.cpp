// kl:: string.h and ctype.h functions (kernel_lib/libc) against glibc and plain loops.
//
// Every size 0..300 at every source and destination alignment 0..15, guard bytes around
// each destination, overlapping memmove in both directions, and the sign conventions of
// the comparisons (bytes compare as unsigned char).
#include <catch2/catch.hpp>
#include <ctype.h>
#include <random>
#include <string.h>
#include <vector>

#include "kernel_lib/libc/kctype.h"
#include "kernel_lib/libc/kstring.h"

namespace {

constexpr size_t max_size = 300;
constexpr size_t guard = 16;

int sign(int v) { return (v > 0) - (v < 0); }

std::vector<unsigned char> random_bytes(std::mt19937& rng, size_t n)
{
    std::vector<unsigned char> v(n);
    for (auto& b : v)
        b = static_cast<unsigned char>(rng());
    return v;
}

}

TEST_CASE("memcpy and memset: all sizes 0..300 at all alignments, nothing outside touched", "[libc]")
{
    std::mt19937 rng(1);
    std::vector<unsigned char> src = random_bytes(rng, max_size + 2 * guard);
    std::vector<unsigned char> dst(max_size + 3 * guard);
    for (size_t n = 0; n <= max_size; ++n) {
        for (size_t sa = 0; sa < 16; ++sa) {
            for (size_t da = 0; da < 16; ++da) {
                memset(dst.data(), 0xA5, dst.size());
                void* r = kl::memcpy(dst.data() + guard + da, src.data() + sa, n);
                REQUIRE(r == dst.data() + guard + da);
                for (size_t i = 0; i < dst.size(); ++i) {
                    bool inside = i >= guard + da && i < guard + da + n;
                    unsigned char expected = inside ? src[sa + i - guard - da] : 0xA5;
                    if (dst[i] != expected)
                        FAIL("memcpy n=" << n << " src+" << sa << " dst+" << da << " wrong byte at " << i);
                }
            }
            // memset: sa serves as the destination alignment, the value includes >= 0x80.
            memset(dst.data(), 0xA5, dst.size());
            int value = static_cast<int>(n * 7 + sa) | 0x100;  // only the low byte counts
            void* r = kl::memset(dst.data() + guard + sa, value, n);
            REQUIRE(r == dst.data() + guard + sa);
            for (size_t i = 0; i < dst.size(); ++i) {
                bool inside = i >= guard + sa && i < guard + sa + n;
                unsigned char expected = inside ? static_cast<unsigned char>(value) : 0xA5;
                if (dst[i] != expected)
                    FAIL("memset n=" << n << " dst+" << sa << " wrong byte at " << i);
            }
        }
    }
}

TEST_CASE("memmove handles overlap in both directions", "[libc]")
{
    std::mt19937 rng(2);
    std::vector<unsigned char> initial = random_bytes(rng, 2 * max_size + 64);
    for (size_t n = 0; n <= max_size; n += (n < 40 ? 1 : 7)) {
        for (int shift = -33; shift <= 33; ++shift) {
            std::vector<unsigned char> mine = initial;
            std::vector<unsigned char> theirs = initial;
            size_t from = 40;
            size_t to = static_cast<size_t>(40 + shift);
            void* r = kl::memmove(mine.data() + to, mine.data() + from, n);
            memmove(theirs.data() + to, theirs.data() + from, n);
            REQUIRE(r == mine.data() + to);
            if (mine != theirs)
                FAIL("memmove n=" << n << " shift=" << shift);
        }
    }
}

TEST_CASE("memcmp orders bytes as unsigned char and stops at n", "[libc]")
{
    std::mt19937 rng(3);
    for (int trial = 0; trial < 20000; ++trial) {
        size_t n = rng() % 100;
        size_t offset = rng() % 16;
        std::vector<unsigned char> a = random_bytes(rng, n + 32);
        std::vector<unsigned char> b = a;
        if (n > 0 && rng() % 4 != 0) {
            size_t at = rng() % (n + 8);  // sometimes beyond n: must not count
            b[offset + at] = static_cast<unsigned char>(rng());
        }
        int mine = kl::memcmp(a.data() + offset, b.data() + offset, n);
        int theirs = memcmp(a.data() + offset, b.data() + offset, n);
        REQUIRE(sign(mine) == sign(theirs));
    }
    const unsigned char lo[] = { 0x01 };
    const unsigned char hi[] = { 0x80 };
    CHECK(kl::memcmp(lo, hi, 1) < 0);
    CHECK(kl::memcmp(hi, lo, 1) > 0);
    CHECK(kl::memcmp(lo, hi, 0) == 0);
}

TEST_CASE("strlen, strnlen, strchr, strrchr at all alignments", "[libc]")
{
    std::mt19937 rng(4);
    std::vector<char> buffer(max_size + 32);
    for (size_t len = 0; len <= max_size; ++len) {
        for (size_t align = 0; align < 16; ++align) {
            char* s = buffer.data() + align;
            for (size_t i = 0; i < len; ++i)
                s[i] = static_cast<char>(1 + rng() % 255);  // any non-zero byte
            s[len] = 0;
            REQUIRE(kl::strlen(s) == len);
            size_t max = rng() % (max_size + 10);
            REQUIRE(kl::strnlen(s, max) == strnlen(s, max));
            int c = static_cast<int>(rng() % 256);
            REQUIRE(kl::strchr(s, c) == strchr(s, c));
            REQUIRE(kl::strrchr(s, c) == strrchr(s, c));
            REQUIRE(kl::memchr(s, c, len) == memchr(s, c, len));
        }
    }
    const char* text = "abcabc";
    CHECK(kl::strchr(text, 0) == text + 6);  // the terminator is part of the string
    CHECK(kl::strrchr(text, 0) == text + 6);
    CHECK(kl::strchr(text, 'c') == text + 2);
    CHECK(kl::strrchr(text, 'c') == text + 5);
    CHECK(kl::strchr(text, 'z') == nullptr);
}

TEST_CASE("strcmp and strncmp agree with glibc in sign", "[libc]")
{
    std::mt19937 rng(5);
    for (int trial = 0; trial < 50000; ++trial) {
        // A small alphabet with high bytes makes equal prefixes and signedness matter.
        const char alphabet[] = { 'a', 'b', static_cast<char>(0xC3), static_cast<char>(0x80) };
        char a[24];
        char b[24];
        size_t la = rng() % 20;
        size_t lb = rng() % 20;
        for (size_t i = 0; i < la; ++i)
            a[i] = alphabet[rng() % 4];
        for (size_t i = 0; i < lb; ++i)
            b[i] = alphabet[rng() % 4];
        a[la] = 0;
        b[lb] = 0;
        if (rng() % 3 == 0)
            memcpy(b, a, la + 1);
        size_t n = rng() % 24;
        REQUIRE(sign(kl::strcmp(a, b)) == sign(strcmp(a, b)));
        REQUIRE(sign(kl::strncmp(a, b, n)) == sign(strncmp(a, b, n)));
    }
}

TEST_CASE("strstr finds the first occurrence", "[libc]")
{
    const char* hay = "GenuineIntel AuthenticAMD Intel";
    CHECK(kl::strstr(hay, "Intel") == hay + 7);
    CHECK(kl::strstr(hay, "AMD") == hay + 22);
    CHECK(kl::strstr(hay, "") == hay);
    CHECK(kl::strstr(hay, "intel") == nullptr);
    CHECK(kl::strstr("", "") != nullptr);
    CHECK(kl::strstr("", "a") == nullptr);
    CHECK(kl::strstr("aaab", "aab") != nullptr);
    std::mt19937 rng(6);
    for (int trial = 0; trial < 20000; ++trial) {
        char hay2[40];
        char needle[6];
        size_t lh = rng() % 39;
        size_t ln = rng() % 5;
        for (size_t i = 0; i < lh; ++i)
            hay2[i] = static_cast<char>('a' + rng() % 3);
        for (size_t i = 0; i < ln; ++i)
            needle[i] = static_cast<char>('a' + rng() % 3);
        hay2[lh] = 0;
        needle[ln] = 0;
        REQUIRE(kl::strstr(hay2, needle) == strstr(hay2, needle));
    }
}

TEST_CASE("strcpy, strncpy and strcat follow C's padding and termination rules", "[libc]")
{
    char a[16];
    char b[16];
    memset(a, 'x', sizeof(a));
    memset(b, 'x', sizeof(b));
    CHECK(kl::strcpy(a, "hello") == a);
    strcpy(b, "hello");
    CHECK(memcmp(a, b, sizeof(a)) == 0);

    for (size_t n = 0; n < 12; ++n) {
        memset(a, 'x', sizeof(a));
        memset(b, 'x', sizeof(b));
        CHECK(kl::strncpy(a, "hello", n) == a);
        strncpy(b, "hello", n);  // zero-fills up to n; no terminator when n <= 5
        CHECK(memcmp(a, b, sizeof(a)) == 0);
    }

    memset(a, 'x', sizeof(a));
    kl::strcpy(a, "foo");
    CHECK(kl::strcat(a, "bar") == a);
    CHECK(strcmp(a, "foobar") == 0);
    kl::strcat(a, "");
    CHECK(strcmp(a, "foobar") == 0);
}

TEST_CASE("ctype classifies all bytes like glibc's C locale", "[libc]")
{
    for (int c = -1; c < 256; ++c) {  // EOF and every unsigned char
        CAPTURE(c);
        CHECK(!!kl::iscntrl(c) == !!iscntrl(c));
        CHECK(!!kl::isprint(c) == !!isprint(c));
        CHECK(!!kl::isgraph(c) == !!isgraph(c));
        CHECK(!!kl::isspace(c) == !!isspace(c));
        CHECK(!!kl::isdigit(c) == !!isdigit(c));
        CHECK(!!kl::isupper(c) == !!isupper(c));
        CHECK(!!kl::islower(c) == !!islower(c));
        CHECK(!!kl::isalpha(c) == !!isalpha(c));
        CHECK(!!kl::isalnum(c) == !!isalnum(c));
        CHECK(!!kl::isxdigit(c) == !!isxdigit(c));
        CHECK(!!kl::ispunct(c) == !!ispunct(c));
        CHECK(kl::tolower(c) == tolower(c));
        CHECK(kl::toupper(c) == toupper(c));
    }
}

TEST_CASE("digit values: bases up to 36, and hexadecimal", "[libc]")
{
    const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (int c = -128; c < 256; ++c) {
        CAPTURE(c);
        const char* at = c > 0 ? strchr(digits, tolower(c)) : nullptr;
        const int expected = at ? static_cast<int>(at - digits) : 99;
        CHECK(kl::digit_value(c) == expected);
        CHECK(kl::hex_digit_value(c) == (expected < 16 ? expected : -1));
    }
}
