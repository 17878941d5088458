// UTF-8 sequences (see utf8.h), checked as RFC 3629's table of well-formed byte sequences.
#include "kernel_lib/text/utf8.h"

namespace kl::utf8 {

namespace {

// The sequence length a lead byte announces (0: not a lead byte), and the range the
// second byte must lie in (it excludes overlong forms, surrogates and values past U+10FFFF).
struct Lead {
    u32 length;
    u8 second_min;
    u8 second_max;
};

Lead lead(u8 c)
{
    if (c < 0x80)
        return { 1, 0, 0 };
    if (c >= 0xC2 && c <= 0xDF)
        return { 2, 0x80, 0xBF };
    if (c == 0xE0)
        return { 3, 0xA0, 0xBF };
    if (c == 0xED)
        return { 3, 0x80, 0x9F };
    if (c >= 0xE1 && c <= 0xEF)
        return { 3, 0x80, 0xBF };
    if (c == 0xF0)
        return { 4, 0x90, 0xBF };
    if (c >= 0xF1 && c <= 0xF3)
        return { 4, 0x80, 0xBF };
    if (c == 0xF4)
        return { 4, 0x80, 0x8F };
    return { 0, 0, 0 };
}

// How many bytes of the sequence at p are well formed so far (at most `available`).
u32 well_formed_bytes(const u8* p, usize available, Lead l)
{
    u32 good = 1;
    for (; good < l.length && good < available; ++good) {
        const u8 min = good == 1 ? l.second_min : 0x80;
        const u8 max = good == 1 ? l.second_max : 0xBF;
        if (p[good] < min || p[good] > max)
            break;
    }
    return good;
}

}

u32 sequence_length(const u8* p, usize available)
{
    if (available == 0)
        return 0;
    const Lead l = lead(p[0]);
    if (l.length == 0 || l.length > available)
        return 0;
    return well_formed_bytes(p, available, l) == l.length ? l.length : 0;
}

usize complete_prefix(const u8* p, usize length)
{
    // Only the last three bytes can start an unfinished sequence.
    const usize from = length > 3 ? length - 3 : 0;
    for (usize i = from; i < length; ++i) {
        const Lead l = lead(p[i]);
        if (l.length > 1 && i + l.length > length && well_formed_bytes(p + i, length - i, l) == length - i)
            return i;
    }
    return length;
}

u32 encode(u32 code_point, u8* out)
{
    if (code_point < 0x80) {
        out[0] = static_cast<u8>(code_point);
        return 1;
    }
    if (code_point < 0x800) {
        out[0] = static_cast<u8>(0xC0 | (code_point >> 6));
        out[1] = static_cast<u8>(0x80 | (code_point & 0x3F));
        return 2;
    }
    if (code_point >= 0xD800 && code_point <= 0xDFFF)
        return 0;
    if (code_point < 0x10000) {
        out[0] = static_cast<u8>(0xE0 | (code_point >> 12));
        out[1] = static_cast<u8>(0x80 | ((code_point >> 6) & 0x3F));
        out[2] = static_cast<u8>(0x80 | (code_point & 0x3F));
        return 3;
    }
    if (code_point > 0x10FFFF)
        return 0;
    out[0] = static_cast<u8>(0xF0 | (code_point >> 18));
    out[1] = static_cast<u8>(0x80 | ((code_point >> 12) & 0x3F));
    out[2] = static_cast<u8>(0x80 | ((code_point >> 6) & 0x3F));
    out[3] = static_cast<u8>(0x80 | (code_point & 0x3F));
    return 4;
}

}
