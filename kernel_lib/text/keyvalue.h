// key=value text, the format of the boot settings payload.
//
// One pair per line; blank lines and lines starting with '#' are skipped; the key is
// everything before the first '=' (surrounding blanks trimmed), the value everything after
// it up to the end of the line, with the escapes \n \r \t \\ turned into their characters so a
// prompt can hold any text. Lines end with "\n" or "\r\n".
#pragma once

#include "kernel_lib/base/error.h"

namespace kl {

struct KeyValuePair {
    const char* key;    // NUL-terminated, inside the caller's scratch buffer
    const char* value;  // NUL-terminated, unescaped, inside the scratch buffer
    usize value_length;
    u32 line;            // 1-based line number, for messages
};

// Parses `text` (`length` bytes, not necessarily NUL-terminated). `scratch` must hold
// 2 * length + 2 bytes; it receives keys and values. Returns the number of pairs, or a
// SettingsSyntax error naming the line. More than `max_pairs` pairs is an error too.
ErrorOr<int> parse_key_values(const char* text, usize length, char* scratch, KeyValuePair* pairs, int max_pairs);

// Writes `value` with the escapes above applied so that parse_key_values returns it
// unchanged. Returns the length the full result needs (like snprintf; output is truncated
// but NUL-terminated when `size` is too small).
usize escape_value(const char* value, char* out, usize size);

}
