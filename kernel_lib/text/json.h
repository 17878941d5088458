// JSON for BareFlow: the string escape behind the `@stats`/`@error`/`@profile` lines, a
// reader for untrusted request bodies and a writer for responses.
//
// Reader: one pass over the text (RFC 8259, strict: no comments, no trailing commas, no
// leading zeros, well-formed UTF-8, no raw control characters in strings) into a flat array
// of tokens that the caller provides, in the style of jsmn: no allocation, nothing copied,
// each token a span of the text. Depth and token count are limited, so no input can make it
// recurse deeply or use more than the caller's array; errors name the byte offset and what
// was expected. Values are then read through JsonValue: members by key, elements in order,
// strings unescaped into the caller's buffer, numbers checked against the range asked for.
//
// Writer: appends to a TextBuffer with commas and nesting handled; strings are escaped and
// malformed UTF-8 is replaced by U+FFFD, so the output is always valid JSON. A write that
// passes the buffer's cap marks the writer failed (ok() == false) instead of cutting a
// document in the middle unnoticed.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/text/string_view.h"
#include "kernel_lib/text/text_buffer.h"

namespace kl {

// Escapes `text` for use inside a JSON string (quotes, backslashes, control characters;
// bytes >= 0x80 pass through, so UTF-8 stays UTF-8). Output is NUL-terminated and
// truncated to `size`; returns the length the full result needs.
usize json_escape(const char* text, char* out, usize size);

// The escaped form of one byte below 0x80 into `out` (up to 6 bytes), or 0 when the byte
// stands for itself (shared by json_escape and the writer).
u32 json_escape_ascii(u8 c, char* out);

enum class JsonType : u8 { Object, Array, String, Number, True, False, Null };

const char* json_type_name(JsonType type);  // "object", "string", ...

struct JsonToken {
    JsonType type;
    u32 start;   // offset of the value's first byte (strings: just after the opening quote)
    u32 end;     // one past its last byte (strings: the closing quote)
    u32 count;   // objects: members; arrays: elements
    u32 next;    // index of the first token after this value and everything inside it
};

struct JsonLimits {
    u32 max_depth = 16;
};

struct JsonDocument {
    const char* text = nullptr;
    usize length = 0;
    const JsonToken* tokens = nullptr;
    u32 token_count = 0;
};

// Parses `text` as exactly one JSON value (surrounding whitespace allowed) into `tokens`.
// An object's members follow it as key, value, key, value...; an array's elements follow it
// in order. JsonInvalid errors say where and why ("byte 17: expected ',' or '}'"); running
// out of tokens or depth is an error too.
ErrorOr<JsonDocument> parse_json(const char* text, usize length, JsonToken* tokens, u32 capacity,
    JsonLimits limits = {});

// A value inside a parsed document, or "missing" (a member that is not there).
class JsonValue {
public:
    JsonValue() = default;
    JsonValue(const JsonDocument& document, u32 index) : m_document(&document), m_index(index) {}
    static JsonValue root(const JsonDocument& document) { return { document, 0 }; }

    bool present() const { return m_document != nullptr; }
    JsonType type() const { return token().type; }
    bool is(JsonType type) const { return present() && token().type == type; }
    // Objects and arrays: how many members or elements.
    u32 count() const { return token().count; }
    // The value's text as written (strings: between the quotes, still escaped).
    StringView raw() const;

    // Objects: the value of the first member whose key equals `key` (missing if none).
    JsonValue member(const char* key) const;
    // Objects: the i-th member's key and value, in document order.
    JsonValue member_key(u32 i) const;
    JsonValue member_value(u32 i) const;
    // Arrays: the i-th element (linear in i: iterate with first()/next_sibling() instead
    // when walking all of them).
    JsonValue element(u32 i) const;
    JsonValue first() const;
    JsonValue next_sibling() const;

    // Strings: the unescaped bytes into `out` (NUL-terminated), returning their length;
    // false when they do not fit in `capacity` - 1 bytes. unescaped_length() is exact.
    bool get_string(char* out, usize capacity, usize* length = nullptr) const;
    usize unescaped_length() const;
    bool string_equals(const char* text) const;
    // Numbers: false unless it is a number in [min, max] (integers: without fraction or
    // exponent).
    bool get_double(double& out, double min, double max) const;
    bool get_integer(i64& out, i64 min, i64 max) const;

private:
    const JsonToken& token() const { return m_document->tokens[m_index]; }

    const JsonDocument* m_document = nullptr;
    u32 m_index = 0;
};

class JsonWriter {
public:
    explicit JsonWriter(TextBuffer& out) : m_out(out) {}

    void begin_object();
    void end_object();
    void begin_array();
    void end_array();
    // The key of the next member (objects only).
    void key(const char* name);
    void string(StringView text);
    void string(const char* text) { string(StringView(text)); }
    void integer(i64 value);
    // Fixed decimals ("%.*f"): figures for people and Prometheus alike.
    void number(double value, int decimals);
    void boolean(bool value);
    void null();
    // An already-formed JSON value (e.g. another writer's output), written as is.
    void raw(StringView json);

    // A member in one call.
    void field(const char* name, StringView text) { key(name); string(text); }
    void field(const char* name, const char* text) { key(name); string(text); }
    void field(const char* name, i64 value) { key(name); integer(value); }

    // False once any write failed (the buffer's cap) or the nesting was misused.
    bool ok() const { return m_ok; }

private:
    void before_value();
    void open(char c);
    void close(char c);

    TextBuffer& m_out;
    u32 m_depth = 0;
    u64 m_has_items = 0;   // bit d: the container at depth d already has an item
    bool m_after_key = false;
    bool m_ok = true;
};

// Appends `text` as the body of a JSON string (no quotes): escapes, U+FFFD for malformed
// UTF-8. False when the buffer's cap is reached.
bool json_append_escaped(TextBuffer& out, StringView text);

}
