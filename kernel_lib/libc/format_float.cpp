// %f %e %g for doubles, digit-exact with glibc.
//
// A finite double is m * 2^e exactly, so its decimal expansion is finite: the integer
// m * 2^e when e >= 0, else m * 5^-e scaled down by 10^-e. We compute those digits with a
// small BigNum (at most 767 significant digits, for the smallest subnormals), round them
// half to even at the requested position, and print. Slow next to Ryu-style algorithms
// (microseconds for tiny numbers), but tiny in code and exactly right for any precision.
#include "kernel_lib/libc/bignum.h"
#include "kernel_lib/libc/format_internal.h"

namespace kl::detail {

// Built for size (like -Oz), not speed: kernel_lib has a small code budget, and none of
// this is on a hot path. It also stops the vectoriser from bloating the byte loops.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

namespace {

// 767 digits at most, produced in groups of 9: 86 groups.
constexpr int digit_capacity = 86 * 9;

// value = 0.d[0] d[1] ... d[count-1] * 10^point; digits past `count` are zeros.
struct Decimal {
    char storage[digit_capacity];
    char* d;
    int count;
    int point;

    char at(int i) const { return (i >= 0 && i < count) ? d[i] : '0'; }
};

// The exact decimal expansion of a finite, non-negative double.
void exact_decimal(double value, Decimal& x)
{
    u64 bits = __builtin_bit_cast(u64, value);
    int biased = static_cast<int>(bits >> 52) & 0x7ff;
    u64 m = bits & ((1ull << 52) - 1);
    int e = -1074;
    if (biased != 0) {
        m |= 1ull << 52;
        e = biased - 1075;
    }
    x.d = x.storage;
    if (m == 0) {
        x.d[0] = '0';
        x.count = 1;
        x.point = 1;
        return;
    }
    // Shed factors of two first: a smaller power of five means less work.
    int twos = __builtin_ctzll(m);
    m >>= twos;
    e += twos;
    BigNum n(m);
    int fraction_digits = 0;
    if (e >= 0) {
        n.shift_left(e);
    } else {
        n.multiply_pow5(-e);
        fraction_digits = -e;
    }
    char* end = x.storage + digit_capacity;
    char* p = end;
    while (!n.is_zero()) {
        u32 group = n.divide_1e9();
        for (int i = 0; i < 9; ++i) {
            *--p = static_cast<char>('0' + group % 10);
            group /= 10;
        }
    }
    while (*p == '0')
        ++p;
    x.d = p;
    x.count = static_cast<int>(end - p);
    x.point = x.count - fraction_digits;
    // Trailing zeros say nothing; without them, "any digit after position k" means
    // "something non-zero after position k", which is what rounding asks.
    while (x.count > 1 && x.d[x.count - 1] == '0')
        --x.count;
}

// Keeps `keep` leading digits (keep <= 0: none), rounding the exact value half to even.
void round_to(Decimal& x, int keep)
{
    if (keep >= x.count)
        return;
    bool up = false;
    if (keep >= 0) {
        char next = x.d[keep];
        if (next != '5')
            up = next > '5';
        else if (keep + 1 < x.count)
            up = true;
        else
            up = keep > 0 && ((x.d[keep - 1] - '0') & 1);
    }
    x.count = keep > 0 ? keep : 0;
    if (!up) {
        while (x.count > 0 && x.d[x.count - 1] == '0')
            --x.count;
        return;
    }
    int i = x.count - 1;
    while (i >= 0 && x.d[i] == '9')
        --i;
    if (i < 0) {  // 999.. (or nothing) rounds up to 1000..
        x.d[0] = '1';
        x.count = 1;
        x.point += 1;
    } else {
        x.d[i] = static_cast<char>(x.d[i] + 1);
        x.count = i + 1;
    }
}

bool is_zero(const Decimal& x) { return x.count == 0 || (x.count == 1 && x.d[0] == '0'); }

int decimal_exponent(const Decimal& x) { return is_zero(x) ? 0 : x.point - 1; }

// Fixed notation with `precision` fraction digits; the digits are already rounded.
void put_fixed(FormatWriter& out, const Decimal& x, int precision, bool alt)
{
    if (x.point <= 0)
        out.put('0');
    for (int i = 0; i < x.point; ++i)
        out.put(x.at(i));
    if (precision > 0 || alt)
        out.put('.');
    for (int i = 0; i < precision; ++i)
        out.put(x.at(x.point + i));
}

// The number without sign or padding: "inf" / "nan" when special, else the digits.
struct Body {
    const Decimal* x;
    const char* special;
    int precision;
    bool exponential;
    bool alt;
    bool upper;
};

void put_exponential(FormatWriter& out, const Decimal& x, int precision, bool alt, bool upper)
{
    out.put(x.at(0));
    if (precision > 0 || alt)
        out.put('.');
    for (int i = 1; i <= precision; ++i)
        out.put(x.at(i));
    int exponent = decimal_exponent(x);
    out.put(upper ? 'E' : 'e');
    out.put(exponent < 0 ? '-' : '+');
    if (exponent < 0)
        exponent = -exponent;
    if (exponent >= 100)
        out.put(static_cast<char>('0' + exponent / 100));
    out.put(static_cast<char>('0' + exponent / 10 % 10));
    out.put(static_cast<char>('0' + exponent % 10));
}

// Out of line: format_double calls it twice, once to measure and once to write.
__attribute__((noinline)) void put_body(FormatWriter& out, const Body& body)
{
    if (body.special)
        out.put(body.special, 3);
    else if (body.exponential)
        put_exponential(out, *body.x, body.precision, body.alt, body.upper);
    else
        put_fixed(out, *body.x, body.precision, body.alt);
}

}

void format_double(FormatWriter& out, const FormatSpec& spec, double value)
{
    char conv = spec.conversion;
    bool negative = __builtin_signbit(value);
    char sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : 0;
    Body body {};
    body.upper = conv == 'F' || conv == 'E' || conv == 'G';
    body.alt = spec.alt;

    Decimal x;
    if (__builtin_isnan(value) || __builtin_isinf(value)) {
        body.special = __builtin_isnan(value) ? (body.upper ? "NAN" : "nan") : (body.upper ? "INF" : "inf");
    } else {
        exact_decimal(negative ? -value : value, x);
        body.x = &x;
        int precision = spec.precision < 0 ? 6 : spec.precision;
        body.exponential = conv == 'e' || conv == 'E';
        if (conv == 'f' || conv == 'F') {
            round_to(x, x.point + precision);
        } else if (body.exponential) {
            round_to(x, precision + 1);
        } else {
            // %g: P significant digits; fixed notation when the exponent X is in [-4, P).
            int p = precision == 0 ? 1 : precision;
            int exact_exponent = decimal_exponent(x);
            round_to(x, p);
            int exponent = decimal_exponent(x);
            body.exponential = !(exponent < p && exponent >= -4);
            precision = body.exponential ? p - 1 : p - 1 - exponent;
            // glibc quirk: when rounding carries 9.99.. up to 10^p, glibc has already
            // chosen fixed notation with no fraction digits and keeps that count in the
            // exponential form ("%#g" of 999999.5 is "1.e+06", not "1.00000e+06").
            if (body.exponential && exact_exponent < p && exact_exponent >= -4)
                precision = 0;
            if (!spec.alt) {  // without '#', trailing zeros of the fraction go
                int significant = is_zero(x) ? 0 : x.count;
                int shown = body.exponential ? significant - 1 : significant - x.point;
                if (shown < precision)
                    precision = shown > 0 ? shown : 0;
            }
        }
        body.precision = precision;
    }

    // Measure the body by writing it to a counter, then pad around the real thing.
    FormatWriter counter(nullptr, nullptr);
    put_body(counter, body);
    i64 length = static_cast<i64>(counter.total()) + (sign ? 1 : 0);
    bool zero_fill = spec.zero && !spec.left && !body.special;
    if (!zero_fill)
        out.repeat(' ', pad_before(spec, length));
    if (sign)
        out.put(sign);
    if (zero_fill)
        out.repeat('0', spec.width - length);
    put_body(out, body);
    out.repeat(' ', pad_after(spec, length));
}

#pragma clang attribute pop

}
