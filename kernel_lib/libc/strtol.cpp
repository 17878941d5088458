// strtol and friends, atoi, abs (kernel_lib/libc/kstdlib.h), and the digits they read (kctype.h).
//
// One parser reads the magnitude as a u64 with an overflow flag; each public function
// clamps it to its own type the way C specifies.
#include "kernel_lib/base/types.h"
#include "kernel_lib/libc/kctype.h"
#include "kernel_lib/libc/kstdlib.h"

namespace kl {

// Built for size (like -Oz), not speed: kernel_lib has a small code budget, and none of
// this is on a hot path. It also stops the vectoriser from bloating the byte loops.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

int digit_value(int c)
{
    if (isdigit(c))
        return c - '0';
    if (isalpha(c))
        return (c | 0x20) - 'a' + 10;
    return 99;
}

int hex_digit_value(int c)
{
    const int digit = digit_value(c);
    return digit < 16 ? digit : -1;
}

namespace {

struct ParsedInteger {
    u64 magnitude { 0 };
    bool negative { false };
    bool overflow { false };
};

ParsedInteger parse_integer(const char* s, char** end, int base)
{
    ParsedInteger result;
    const char* p = s;
    while (kl::isspace(static_cast<unsigned char>(*p)))
        ++p;
    if (*p == '-' || *p == '+')
        result.negative = *p++ == '-';
    // "0x" counts as a prefix only when a hex digit follows; otherwise the number is "0".
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 0x20) == 'x' && kl::digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = *p == '0' ? 8 : 10;
    }
    const char* digits_start = p;
    if (base >= 2 && base <= 36) {
        for (int d; (d = kl::digit_value(*p)) < base; ++p) {
            if (__builtin_mul_overflow(result.magnitude, static_cast<u64>(base), &result.magnitude)
                || __builtin_add_overflow(result.magnitude, static_cast<u64>(d), &result.magnitude))
                result.overflow = true;
        }
    }
    if (p == digits_start) {  // no digits: no conversion, *end is the input itself
        result = {};
        p = s;
    }
    if (end)
        *end = const_cast<char*>(p);
    return result;
}

i64 clamp_signed(const ParsedInteger& v)
{
    constexpr u64 max = 0x7fffffffffffffffull;
    if (v.negative)
        return (v.overflow || v.magnitude > max + 1) ? -static_cast<i64>(max) - 1 : static_cast<i64>(0 - v.magnitude);
    return (v.overflow || v.magnitude > max) ? static_cast<i64>(max) : static_cast<i64>(v.magnitude);
}

u64 clamp_unsigned(const ParsedInteger& v)
{
    if (v.overflow)
        return ~0ull;
    return v.negative ? 0 - v.magnitude : v.magnitude;
}

}

long strtol(const char* s, char** end, int base) { return clamp_signed(parse_integer(s, end, base)); }
long long strtoll(const char* s, char** end, int base) { return clamp_signed(parse_integer(s, end, base)); }
unsigned long strtoul(const char* s, char** end, int base) { return clamp_unsigned(parse_integer(s, end, base)); }
unsigned long long strtoull(const char* s, char** end, int base) { return clamp_unsigned(parse_integer(s, end, base)); }

// C leaves atoi's overflow undefined; we truncate the clamped long like glibc does.
int atoi(const char* s) { return static_cast<int>(kl::strtol(s, nullptr, 10)); }
long atol(const char* s) { return kl::strtol(s, nullptr, 10); }

int abs(int v) { return v < 0 ? -v : v; }
long labs(long v) { return v < 0 ? -v : v; }
long long llabs(long long v) { return v < 0 ? -v : v; }

#pragma clang attribute pop

}
