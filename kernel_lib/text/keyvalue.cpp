// key=value parsing and escaping (see keyvalue.h).
#include "kernel_lib/text/keyvalue.h"

namespace kl {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}

ErrorOr<int> parse_key_values(const char* text, usize length, char* scratch, KeyValuePair* pairs, int max_pairs)
{
    int count = 0;
    u32 line = 0;
    usize pos = 0;
    char* out = scratch;
    while (pos < length) {
        ++line;
        usize end = pos;
        while (end < length && text[end] != '\n')
            ++end;
        usize next = end + 1;
        if (end > pos && text[end - 1] == '\r')
            --end;
        usize start = pos;
        while (start < end && is_blank(text[start]))
            ++start;
        pos = next;
        if (start == end || text[start] == '#')
            continue;

        usize equals = start;
        while (equals < end && text[equals] != '=')
            ++equals;
        if (equals == end)
            return Error::make(ErrorCode::SettingsSyntax, "settings line %u has no '=' (expected key=value)", line);
        usize key_end = equals;
        while (key_end > start && is_blank(text[key_end - 1]))
            --key_end;
        if (key_end == start)
            return Error::make(ErrorCode::SettingsSyntax, "settings line %u has an empty key", line);
        if (count == max_pairs)
            return Error::make(ErrorCode::SettingsSyntax, "settings hold more than %d entries (line %u)", max_pairs, line);

        KeyValuePair& pair = pairs[count++];
        pair.line = line;
        pair.key = out;
        for (usize i = start; i < key_end; ++i) {
            if (text[i] == 0)
                return Error::make(ErrorCode::SettingsSyntax, "settings line %u holds a NUL byte", line);
            *out++ = text[i];
        }
        *out++ = 0;

        pair.value = out;
        char* value_start = out;
        for (usize i = equals + 1; i < end; ++i) {
            char c = text[i];
            if (c == 0)
                return Error::make(ErrorCode::SettingsSyntax, "settings line %u holds a NUL byte", line);
            if (c == '\\' && i + 1 < end) {
                char e = text[i + 1];
                if (e == 'n' || e == 'r' || e == 't' || e == '\\') {
                    c = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : '\\';
                    ++i;
                }
            }
            *out++ = c;
        }
        pair.value_length = static_cast<usize>(out - value_start);
        *out++ = 0;
    }
    return count;
}

usize escape_value(const char* value, char* out, usize size)
{
    usize needed = 0;
    auto put = [&](char c) {
        if (needed + 1 < size)
            out[needed] = c;
        ++needed;
    };
    for (const char* p = value; *p; ++p) {
        switch (*p) {
        case '\n': put('\\'); put('n'); break;
        case '\t': put('\\'); put('t'); break;
        case '\\': put('\\'); put('\\'); break;
        case '\r': put('\\'); put('r'); break;
        default: put(*p);
        }
    }
    if (size > 0)
        out[needed < size ? needed : size - 1] = 0;
    return needed;
}

}
