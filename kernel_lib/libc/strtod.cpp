// strtod / strtof: correctly rounded decimal to binary conversion (kernel_lib/libc/kstdlib.h).
//
// The input is read as an exact decimal D * 10^k (D a BigNum of up to 800 digits, plus a
// "sticky" flag for non-zero digits beyond). A double-precision estimate gives a first
// candidate m * 2^e in the target format; then exact big-integer comparisons of D * 10^k
// with the midpoints to the neighbouring values move the candidate until the input lies
// between them, ties going to the even mantissa (Clinger's "AlgorithmR" idea). The estimate
// is within a few ulps, so this takes a handful of comparisons.
#include "kernel_lib/base/types.h"
#include "kernel_lib/libc/bignum.h"
#include "kernel_lib/libc/kctype.h"
#include "kernel_lib/libc/kstdlib.h"

namespace kl {

// Built for size (like -Oz), not speed: kernel_lib has a small code budget, and none of
// this is on a hot path. It also stops the vectoriser from bloating the byte loops.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

namespace {

using detail::BigNum;

constexpr int max_digits = 800;

struct DecimalNumber {
    BigNum digits;         // D
    int exponent { 0 };    // k
    int count { 0 };       // significant digits in D
    bool sticky { false };  // non-zero digits were dropped after the first 800
    u64 leading { 0 };     // the first (up to) 19 digits, for the estimate
    int leading_count { 0 };
};

// A binary floating-point format: p mantissa bits, unit exponents emin (subnormals) to emax.
struct Format {
    int bits;
    int emin;
    int emax;
    int sign_bit;
};
constexpr Format double_format { 53, -1074, 971, 63 };
constexpr Format float_format { 24, -149, 104, 31 };

bool match_word(const char*& p, const char* word)
{
    const char* q = p;
    for (; *word; ++word, ++q) {
        if ((*q | 0x20) != *word)
            return false;
    }
    p = q;
    return true;
}

// Sign of D * 10^k - M * 2^f, with dropped digits counting as "a little more".
int compare_with(const DecimalNumber& x, u64 m, int f)
{
    BigNum lhs = x.digits;
    BigNum rhs(m);
    if (x.exponent >= 0)
        lhs.multiply_pow5(x.exponent);
    else
        rhs.multiply_pow5(-x.exponent);
    int g = f - x.exponent;  // the twos of 10^k have moved to the right-hand side
    if (g >= 0)
        rhs.shift_left(g);
    else
        lhs.shift_left(-g);
    int c = compare(lhs, rhs);
    return (c == 0 && x.sticky) ? 1 : c;
}

// 10^e applied to v in decreasing steps, so no intermediate overflows that the result
// would not; accurate to a few ulps, which is all the estimate needs.
double scale_by_pow10(double v, int e)
{
    static constexpr double powers[] = { 1e1, 1e2, 1e4, 1e8, 1e16, 1e32, 1e64, 1e128, 1e256 };
    int n = e < 0 ? -e : e;
    for (int i = 8; i >= 0; --i) {
        while (n >= (1 << i)) {
            v = e < 0 ? v / powers[i] : v * powers[i];
            n -= 1 << i;
        }
    }
    return v;
}

// The starting point: x as m * 2^e in double precision, then cut down to the target's
// precision (fewer bits where it is subnormal there); past the largest finite, that value.
void estimate_in_format(const DecimalNumber& x, const Format& format, u64& m, int& e)
{
    double estimate = scale_by_pow10(static_cast<double>(x.leading), x.exponent + x.count - x.leading_count);
    u64 bits = __builtin_bit_cast(u64, estimate);
    int biased = static_cast<int>(bits >> 52);
    m = (bits & ((1ull << 52) - 1)) | (biased ? 1ull << 52 : 0);
    e = (biased ? biased : 1) - 1075;
    int drop = 53 - format.bits;
    if (e + drop < format.emin)  // subnormal in the target: fewer bits remain
        drop = format.emin - e < 63 ? format.emin - e : 63;
    m >>= drop;
    e += drop;
    if (biased == 0x7ff || e > format.emax) {  // overflowed: start from the largest finite
        m = (1ull << format.bits) - 1;
        e = format.emax;
    }
}

// Correctly rounded m * 2^e of `format` for the decimal x (non-zero); m == 2^bits means
// infinity (returned with e = emax + 1).
void round_decimal(const DecimalNumber& x, const Format& format, u64& m, int& e)
{
    const u64 low = 1ull << (format.bits - 1);
    const u64 high = 1ull << format.bits;
    estimate_in_format(x, format, m, e);
    for (;;) {
        // Up: is x beyond the midpoint (2m + 1) * 2^(e - 1) to the next value?
        int c = compare_with(x, 2 * m + 1, e - 1);
        if (c > 0 || (c == 0 && (m & 1))) {
            if (++m == high) {
                m = low;
                if (++e > format.emax) {
                    m = high;
                    return;
                }
            }
            continue;
        }
        if (m == 0)
            return;
        // Down: below the midpoint to the previous value? Just above a power of two that
        // value is only half as far away.
        bool binade_edge = m == low && e > format.emin;
        c = binade_edge ? compare_with(x, 4 * m - 1, e - 2) : compare_with(x, 2 * m - 1, e - 1);
        if (c < 0 || (c == 0 && (m & 1))) {
            if (--m < low && e > format.emin) {
                m = high - 1;
                --e;
            }
            continue;
        }
        return;
    }
}

// Skips leading white space and reads the optional sign.
const char* skip_space_and_sign(const char* p, bool& negative)
{
    while (kl::isspace(static_cast<unsigned char>(*p)))
        ++p;
    negative = false;
    if (*p == '-' || *p == '+')
        negative = *p++ == '-';
    return p;
}

// "inf" or "infinity", in any case.
bool match_infinity(const char*& p)
{
    if (!match_word(p, "inf"))
        return false;
    match_word(p, "inity");
    return true;
}

// "nan", in any case, with an optional "(chars)"; sets is_nan when it matches.
bool match_nan(const char*& p, bool& is_nan)
{
    if (!match_word(p, "nan"))
        return false;
    // "nan(chars)" is one token; an unclosed parenthesis is not part of it.
    if (*p == '(') {
        const char* q = p + 1;
        while (kl::isalnum(*q) || *q == '_')
            ++q;
        if (*q == ')')
            p = q + 1;
    }
    is_nan = true;
    return true;
}

// Adds the decimal digit d to x, before or after the point.
void add_digit(DecimalNumber& x, int d, bool after_point)
{
    if (x.count == 0 && d == 0) {  // leading zeros only move the point
        if (after_point)
            --x.exponent;
        return;
    }
    if (x.count == max_digits) {  // beyond what can matter except for ties
        x.sticky |= d != 0;
        if (!after_point)
            ++x.exponent;
        return;
    }
    ++x.count;
    if (after_point)
        --x.exponent;
    if (x.leading_count < 19) {
        x.leading = x.leading * 10 + d;
        ++x.leading_count;
    }
    x.digits.multiply(10);
    x.digits.add(static_cast<u32>(d));
}

// The digits with at most one decimal point, into x; false when there is no digit.
bool read_digits(const char*& p, DecimalNumber& x)
{
    bool any_digit = false;
    bool after_point = false;
    for (;; ++p) {
        if (*p == '.' && !after_point) {
            after_point = true;
            continue;
        }
        if (!kl::isdigit(*p))
            break;
        any_digit = true;
        add_digit(x, *p - '0', after_point);
    }
    return any_digit;
}

// The exponent part counts only if it has digits ("1e" reads as 1, ending at 'e').
void read_exponent(const char*& p, DecimalNumber& x)
{
    if ((*p | 0x20) != 'e')
        return;
    const char* q = p + 1;
    bool exp_negative = false;
    if (*q == '-' || *q == '+')
        exp_negative = *q++ == '-';
    if (!kl::isdigit(*q))
        return;
    int value = 0;
    for (; kl::isdigit(*q); ++q) {
        if (value < 100000)  // far outside any format: saturate
            value = value * 10 + (*q - '0');
    }
    x.exponent += exp_negative ? -value : value;
    p = q;
}

// Parses the number at s. Returns false when there is none. On success either sets x
// (finite) or is_special (inf, or nan when is_nan).
bool parse_decimal(const char* s, const char*& end, bool& negative, DecimalNumber& x, bool& is_special, bool& is_nan)
{
    const char* p = skip_space_and_sign(s, negative);
    is_special = match_infinity(p) || match_nan(p, is_nan);
    if (is_special) {
        end = p;
        return true;
    }
    if (!read_digits(p, x))
        return false;
    read_exponent(p, x);
    end = p;
    return true;
}

// The IEEE bit pattern of `format` nearest to the number at s (0 if there is none).
u64 convert(const char* s, char** end, const Format& format)
{
    DecimalNumber x;
    const char* stop = s;
    bool negative = false;
    bool is_special = false;
    bool is_nan = false;
    bool ok = parse_decimal(s, stop, negative, x, is_special, is_nan);
    if (end)
        *end = const_cast<char*>(ok ? stop : s);
    if (!ok)
        return 0;
    const u64 low = 1ull << (format.bits - 1);
    const u64 exponent_all_ones = static_cast<u64>(format.emax - format.emin + 2);
    u64 bits;
    if (is_special) {  // inf, or the default quiet nan
        bits = (exponent_all_ones << (format.bits - 1)) | (is_nan ? low >> 1 : 0);
    } else if (x.count == 0 || x.count + x.exponent < -330) {  // zero, or below 10^-330
        bits = 0;
    } else if (x.count + x.exponent > 310) {  // at least 10^310: beyond either format
        bits = exponent_all_ones << (format.bits - 1);
    } else {
        u64 m;
        int e;
        round_decimal(x, format, m, e);
        // A biased exponent field of 0 marks subnormals; infinity (m == 2^bits at
        // e == emax + 1) comes out as the all-ones exponent with a zero fraction.
        u64 biased = m >= low ? static_cast<u64>(e - format.emin + 1) : 0;
        bits = (biased << (format.bits - 1)) | (m & (low - 1));
    }
    return bits | (static_cast<u64>(negative) << format.sign_bit);
}

}

double strtod(const char* s, char** end) { return __builtin_bit_cast(double, convert(s, end, double_format)); }
float strtof(const char* s, char** end) { return __builtin_bit_cast(float, static_cast<u32>(convert(s, end, float_format))); }
double atof(const char* s) { return kl::strtod(s, nullptr); }

#pragma clang attribute pop

}
