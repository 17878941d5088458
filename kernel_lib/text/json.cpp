// JSON string escaping (see json.h).
#include "kernel_lib/text/json.h"

namespace kl {

usize json_escape(const char* text, char* out, usize size)
{
    static const char hex[] = "0123456789abcdef";
    usize needed = 0;
    auto put = [&](char c) {
        if (needed + 1 < size)
            out[needed] = c;
        ++needed;
    };
    for (const u8* p = reinterpret_cast<const u8*>(text); *p; ++p) {
        u8 c = *p;
        if (c == '"' || c == '\\') {
            put('\\');
            put(static_cast<char>(c));
        } else if (c == '\n') {
            put('\\');
            put('n');
        } else if (c == '\t') {
            put('\\');
            put('t');
        } else if (c == '\r') {
            put('\\');
            put('r');
        } else if (c < 0x20 || c == 0x7F) {
            put('\\');
            put('u');
            put('0');
            put('0');
            put(hex[c >> 4]);
            put(hex[c & 15]);
        } else {
            put(static_cast<char>(c));
        }
    }
    if (size > 0)
        out[needed < size ? needed : size - 1] = 0;
    return needed;
}

}
