// JSON string escaping (see json.h; the reader is json_reader.cpp, the writer json_writer.cpp).
#include "kernel_lib/text/json.h"

namespace kl {

u32 json_escape_ascii(u8 c, char* out)
{
    static const char hex[] = "0123456789abcdef";
    char short_form = 0;
    switch (c) {
    case '"': short_form = '"'; break;
    case '\\': short_form = '\\'; break;
    case '\n': short_form = 'n'; break;
    case '\t': short_form = 't'; break;
    case '\r': short_form = 'r'; break;
    default: break;
    }
    if (short_form) {
        out[0] = '\\';
        out[1] = short_form;
        return 2;
    }
    if (c >= 0x20 && c != 0x7F)
        return 0;
    out[0] = '\\';
    out[1] = 'u';
    out[2] = '0';
    out[3] = '0';
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return 6;
}

usize json_escape(const char* text, char* out, usize size)
{
    usize needed = 0;
    auto put = [&](char c) {
        if (needed + 1 < size)
            out[needed] = c;
        ++needed;
    };
    for (const u8* p = reinterpret_cast<const u8*>(text); *p; ++p) {
        char escaped[6];
        const u32 length = *p < 0x80 ? json_escape_ascii(*p, escaped) : 0;
        if (length == 0)
            put(static_cast<char>(*p));
        for (u32 i = 0; i < length; ++i)
            put(escaped[i]);
    }
    if (size > 0)
        out[needed < size ? needed : size - 1] = 0;
    return needed;
}

}
