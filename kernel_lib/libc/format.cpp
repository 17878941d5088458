// The printf engine: parses conversion specifications and formats integers, characters,
// strings and pointers; floating point is in format_float.cpp. Matches glibc's output
// (tests/host/kernel_lib/libc_format_test.cpp compares the two on random formats).
#include "kernel_lib/libc/format.h"

#include "kernel_lib/libc/format_internal.h"
#include "kernel_lib/libc/kstring.h"

namespace kl {

// Built for size (like -Oz), not speed: kernel_lib has a small code budget, and none of
// this is on a hot path. It also stops the vectoriser from bloating the byte loops.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

namespace {

using detail::FormatSpec;
using detail::FormatWriter;
using detail::pad_after;
using detail::pad_before;

constexpr int max_width = 100000000;

// How wide an argument is: int (Default, and Char / Short cut down), 64 bits (Wide), or
// long double.
enum class Length { Default, Char, Short, Wide, LongDouble };

// Writes the digits of `value` in `base` right-aligned ending at `end`; returns the start.
char* integer_digits(char* end, u64 value, unsigned base, bool upper)
{
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        *--end = digits[value % base];
        value /= base;
    } while (value != 0);
    return end;
}

// [spaces][sign or 0x][zeros][digits][spaces] for d i u x X o p.
void format_integer(FormatWriter& out, const FormatSpec& spec, u64 magnitude, bool negative)
{
    char conv = spec.conversion;
    bool is_signed = conv == 'd' || conv == 'i';
    unsigned base = (conv == 'x' || conv == 'X' || conv == 'p') ? 16 : conv == 'o' ? 8 : 10;

    char buffer[24];
    char* end = buffer + sizeof(buffer);
    char* start = integer_digits(end, magnitude, base, conv == 'X');
    i64 digits = end - start;
    // An explicit precision of 0 prints no digits for the value 0.
    if (spec.precision == 0 && magnitude == 0)
        digits = 0;

    char prefix[2];
    int prefix_length = 0;
    if (is_signed && (negative || spec.plus || spec.space))
        prefix[prefix_length++] = negative ? '-' : spec.plus ? '+' : ' ';
    if ((spec.alt && base == 16 && magnitude != 0) || conv == 'p') {
        prefix[prefix_length++] = '0';
        prefix[prefix_length++] = conv == 'X' ? 'X' : 'x';
    }

    i64 zeros = spec.precision > digits ? spec.precision - digits : 0;
    // '#' with octal: the first digit printed must be a 0.
    if (spec.alt && base == 8 && zeros == 0 && (digits == 0 || *start != '0'))
        zeros = 1;
    i64 length = prefix_length + zeros + digits;
    // The '0' flag pads with zeros unless a precision is given or '-' wins.
    if (spec.zero && !spec.left && spec.precision < 0 && spec.width > length) {
        zeros += spec.width - length;
        length = spec.width;
    }
    out.repeat(' ', pad_before(spec, length));
    out.put(prefix, prefix_length);
    out.repeat('0', zeros);
    out.put(start, digits);
    out.repeat(' ', pad_after(spec, length));
}

void format_text(FormatWriter& out, const FormatSpec& spec, const char* text, usize length)
{
    out.repeat(' ', pad_before(spec, length));
    out.put(text, length);
    out.repeat(' ', pad_after(spec, length));
}

int parse_number(const char*& p)
{
    int n = 0;
    while (*p >= '0' && *p <= '9') {
        if (n < max_width / 10)  // absurd widths saturate instead of overflowing
            n = n * 10 + (*p - '0');
        ++p;
    }
    return n;
}

bool is_one_of(char c, const char* set) { return c != 0 && kl::strchr(set, c) != nullptr; }

Length parse_length(const char*& p)
{
    if (*p == 'h') {
        if (*++p != 'h')
            return Length::Short;
        ++p;
        return Length::Char;
    }
    if (*p == 'L') {
        ++p;
        return Length::LongDouble;
    }
    // l ll q z j t: all 64 bits on x86-64.
    if (is_one_of(*p, "lqzjt")) {
        if (p[0] == 'l' && p[1] == 'l')
            ++p;
        ++p;
        return Length::Wide;
    }
    return Length::Default;
}

// The flags, width, precision, length and conversion of one specification: p starts past
// its '%' and ends past the conversion letter; `*` widths and precisions come from ap.
Length parse_spec(const char*& p, va_list& ap, FormatSpec& spec)
{
    for (;; ++p) {
        if (*p == '-') spec.left = true;
        else if (*p == '+') spec.plus = true;
        else if (*p == ' ') spec.space = true;
        else if (*p == '#') spec.alt = true;
        else if (*p == '0') spec.zero = true;
        else break;
    }
    if (*p == '*') {
        ++p;
        i64 width = va_arg(ap, int);
        if (width < 0) {  // a negative `*` width means '-' and its magnitude
            spec.left = true;
            width = -width;
        }
        spec.width = static_cast<int>(width > max_width ? max_width : width);
    } else {
        spec.width = parse_number(p);
    }
    if (*p == '.') {
        ++p;
        if (*p == '*') {
            ++p;
            spec.precision = va_arg(ap, int);
            if (spec.precision < 0)  // a negative `*` precision counts as omitted
                spec.precision = -1;
        } else {
            spec.precision = parse_number(p);
        }
    }
    const Length length = parse_length(p);
    spec.conversion = *p;
    if (*p)
        ++p;
    return length;
}

// %d %i %u %x %X %o %c. Integers travel as int or as 64-bit values; the length then says
// how many of the low bits count and whether they are signed.
void format_integer_argument(FormatWriter& out, const FormatSpec& spec, Length length, va_list& ap)
{
    const char conv = spec.conversion;
    const bool wide = length == Length::Wide && conv != 'c';
    const u64 raw = wide ? va_arg(ap, u64) : va_arg(ap, unsigned);
    if (conv == 'c') {
        const char c = static_cast<char>(raw);
        format_text(out, spec, &c, 1);
        return;
    }
    const int bits = length == Length::Char ? 8 : length == Length::Short ? 16 : wide ? 64 : 32;
    u64 value = bits == 64 ? raw : raw & ((1ull << bits) - 1);
    bool negative = false;
    if (conv == 'd' || conv == 'i') {
        negative = (value >> (bits - 1)) & 1;
        if (negative)  // two's complement magnitude within `bits`
            value = (0 - value) & (bits == 64 ? ~0ull : (1ull << bits) - 1);
    }
    format_integer(out, spec, value, negative);
}

// %s (glibc's "(null)" for a null string unless the precision cuts it short) and %p.
void format_pointer_argument(FormatWriter& out, FormatSpec spec, va_list& ap)
{
    const void* pointer = va_arg(ap, const void*);
    if (spec.conversion == 's') {
        const char* s = static_cast<const char*>(pointer);
        if (s == nullptr)
            s = (spec.precision < 0 || spec.precision >= 6) ? "(null)" : "";
        const usize n = spec.precision < 0 ? kl::strlen(s) : kl::strnlen(s, spec.precision);
        format_text(out, spec, s, n);
    } else if (pointer == nullptr) {
        format_text(out, spec, "(nil)", 5);
    } else {
        spec.plus = spec.space = false;
        format_integer(out, spec, reinterpret_cast<uptr>(pointer), false);
    }
}

struct BufferSink {
    char* buffer;
    usize size;
    usize used;
};

void buffer_sink(void* context, const char* bytes, usize length)
{
    auto* sink = static_cast<BufferSink*>(context);
    usize room = sink->size > sink->used + 1 ? sink->size - sink->used - 1 : 0;
    usize n = length < room ? length : room;
    kl::memcpy(sink->buffer + sink->used, bytes, n);
    sink->used += n;
}

}

void FormatWriter::put(char c)
{
    ++m_total;
    if (m_sink == nullptr)  // a counter only
        return;
    if (m_used == sizeof(m_buffer))
        flush();
    m_buffer[m_used++] = c;
}

void FormatWriter::put(const char* s, usize n)
{
    for (usize i = 0; i < n; ++i)
        put(s[i]);
}

void FormatWriter::repeat(char c, i64 n)
{
    for (; n > 0; --n)
        put(c);
}

void FormatWriter::flush()
{
    if (m_used)
        m_sink(m_context, m_buffer, m_used);
    m_used = 0;
}

int vformat(FormatSink sink, void* context, const char* fmt, va_list args)
{
    FormatWriter out(sink, context);
    va_list ap;
    va_copy(ap, args);
    for (const char* p = fmt; *p;) {
        if (*p != '%') {
            out.put(*p++);
            continue;
        }
        const char* spec_start = p++;
        FormatSpec spec;
        const Length length = parse_spec(p, ap, spec);
        const char conv = spec.conversion;
        if (is_one_of(conv, "diuxXoc"))
            format_integer_argument(out, spec, length, ap);
        else if (conv == 'p' || conv == 's')
            format_pointer_argument(out, spec, ap);
        else if (is_one_of(conv, "fFeEgG"))
            detail::format_double(out, spec, length == Length::LongDouble ? static_cast<double>(va_arg(ap, long double))
                                                                          : va_arg(ap, double));
        else if (conv == '%')
            out.put('%');
        else  // unknown or unsupported: the specification is copied through unchanged
            out.put(spec_start, p - spec_start);
    }
    va_end(ap);
    out.flush();
    u64 total = out.total();
    return total > 0x7fffffff ? -1 : static_cast<int>(total);
}

int vsnprintf(char* buffer, size_t size, const char* fmt, va_list args)
{
    BufferSink sink { buffer, size, 0 };
    int n = vformat(buffer_sink, &sink, fmt, args);
    if (size > 0)
        buffer[sink.used] = '\0';
    return n;
}

int snprintf(char* buffer, size_t size, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = kl::vsnprintf(buffer, size, fmt, args);
    va_end(args);
    return n;
}

#pragma clang attribute pop

}
