// The JSON reader (see json.h): a one-pass tokenizer with an explicit stack, then JsonValue
// to walk the tokens.
#include "kernel_lib/text/json.h"

#include <string.h>

#include "kernel_lib/libc/kctype.h"
#include "kernel_lib/libc/kstdlib.h"
#include "kernel_lib/text/utf8.h"

namespace kl {

namespace {

constexpr u32 max_depth_limit = 64;


// Four hex digits at p (the caller checked they are there).
int hex4(const char* p)
{
    int value = 0;
    for (int i = 0; i < 4; ++i) {
        const int digit = kl::hex_digit_value(p[i]);
        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

enum class Expect : u8 { Value, ValueOrClose, Key, KeyOrClose, Colon, CommaOrClose };

class Parser {
public:
    Parser(const char* text, usize length, JsonToken* tokens, u32 capacity, u32 max_depth)
        : m_text(text), m_length(length), m_tokens(tokens), m_capacity(capacity),
          m_max_depth(max_depth < max_depth_limit ? max_depth : max_depth_limit)
    {
    }

    ErrorOr<u32> run();

private:
    Error fail(const char* why) const
    {
        return Error::make(ErrorCode::JsonInvalid, "bad JSON at byte %zu: %s", m_pos, why);
    }
    void skip_whitespace()
    {
        while (m_pos < m_length && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' || m_text[m_pos] == '\n' ||
                   m_text[m_pos] == '\r'))
            ++m_pos;
    }
    ErrorOr<u32> add(JsonType type, usize start);
    ErrorOr<Expect> value(char c);
    ErrorOr<void> close();
    ErrorOr<void> string();
    ErrorOr<void> escape();
    ErrorOr<void> number();
    ErrorOr<void> literal(const char* word, JsonType type);
    JsonToken& container() { return m_tokens[m_stack[m_depth - 1]]; }

    const char* m_text;
    usize m_length;
    usize m_pos = 0;
    JsonToken* m_tokens;
    u32 m_capacity;
    u32 m_count = 0;
    u32 m_stack[max_depth_limit] = {};
    u32 m_depth = 0;
    u32 m_max_depth;
};

ErrorOr<u32> Parser::run()
{
    if (m_length >= 0xFFFFFFFFull)
        return Error::make(ErrorCode::JsonInvalid, "the JSON text is %zu bytes; at most 4 GiB are read", m_length);
    Expect expect = Expect::Value;
    for (;;) {
        skip_whitespace();
        if (m_count > 0 && m_depth == 0) {
            if (m_pos != m_length)
                return fail("unexpected data after the JSON value");
            return m_count;
        }
        if (m_pos == m_length)
            return fail(m_count == 0 ? "expected a JSON value, found nothing" : "the text ends inside the JSON value");
        const char c = m_text[m_pos];
        switch (expect) {
        case Expect::ValueOrClose:
            if (c == ']') {
                TRY(close());
                expect = Expect::CommaOrClose;
                break;
            }
            [[fallthrough]];
        case Expect::Value:
            expect = TRY(value(c));
            break;
        case Expect::KeyOrClose:
            if (c == '}') {
                TRY(close());
                expect = Expect::CommaOrClose;
                break;
            }
            [[fallthrough]];
        case Expect::Key:
            if (c != '"')
                return fail("expected a member name in double quotes");
            ++container().count;
            TRY(string());
            expect = Expect::Colon;
            break;
        case Expect::Colon:
            if (c != ':')
                return fail("expected ':' after the member name");
            ++m_pos;
            expect = Expect::Value;
            break;
        case Expect::CommaOrClose: {
            const bool object = container().type == JsonType::Object;
            if (c == ',') {
                ++m_pos;
                expect = object ? Expect::Key : Expect::Value;
            } else if (c == (object ? '}' : ']')) {
                TRY(close());
            } else {
                return fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
            }
            break;
        }
        }
    }
}

ErrorOr<u32> Parser::add(JsonType type, usize start)
{
    if (m_count == m_capacity)
        return fail("too many values (the limit is the size of the token array)");
    m_tokens[m_count] = { type, static_cast<u32>(start), static_cast<u32>(start), 0, m_count + 1 };
    return m_count++;
}

ErrorOr<Expect> Parser::value(char c)
{
    if (m_depth > 0 && container().type == JsonType::Array)
        ++container().count;
    if (c == '{' || c == '[') {
        if (m_depth == m_max_depth)
            return fail("nested too deeply");
        const u32 index = TRY(add(c == '{' ? JsonType::Object : JsonType::Array, m_pos));
        m_stack[m_depth++] = index;
        ++m_pos;
        return c == '{' ? Expect::KeyOrClose : Expect::ValueOrClose;
    }
    if (c == '"')
        TRY(string());
    else if (c == '-' || kl::isdigit(c))
        TRY(number());
    else if (c == 't')
        TRY(literal("true", JsonType::True));
    else if (c == 'f')
        TRY(literal("false", JsonType::False));
    else if (c == 'n')
        TRY(literal("null", JsonType::Null));
    else
        return fail("expected a value (object, array, string, number, true, false or null)");
    return Expect::CommaOrClose;
}

ErrorOr<void> Parser::close()
{
    JsonToken& token = container();
    token.end = static_cast<u32>(m_pos + 1);
    token.next = m_count;
    --m_depth;
    ++m_pos;
    return {};
}

ErrorOr<void> Parser::string()
{
    const u32 index = TRY(add(JsonType::String, m_pos + 1));
    ++m_pos;
    while (m_pos < m_length) {
        const u8 c = static_cast<u8>(m_text[m_pos]);
        if (c == '"') {
            m_tokens[index].end = static_cast<u32>(m_pos++);
            return {};
        }
        if (c < 0x20)
            return fail("a control character inside a string (escape it)");
        if (c == '\\') {
            TRY(escape());
        } else if (c >= 0x80) {
            const u32 length = utf8::sequence_length(reinterpret_cast<const u8*>(m_text) + m_pos, m_length - m_pos);
            if (length == 0)
                return fail("malformed UTF-8 inside a string");
            m_pos += length;
        } else {
            ++m_pos;
        }
    }
    return fail("the text ends inside a string");
}

// At a backslash: a valid escape, and \u surrogates only in high-low pairs.
ErrorOr<void> Parser::escape()
{
    if (m_pos + 1 >= m_length)
        return fail("the text ends inside an escape");
    const char e = m_text[m_pos + 1];
    if (e != 'u') {
        if (e == 0 || !strchr("\"\\/bfnrt", e))
            return fail("unknown escape (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        m_pos += 2;
        return {};
    }
    const int unit = m_pos + 6 <= m_length ? hex4(m_text + m_pos + 2) : -1;
    if (unit < 0)
        return fail("\\u needs four hex digits");
    m_pos += 6;
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        return fail("a low surrogate without a high one");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        const bool pair = m_pos + 6 <= m_length && m_text[m_pos] == '\\' && m_text[m_pos + 1] == 'u';
        const int low = pair ? hex4(m_text + m_pos + 2) : -1;
        if (low < 0xDC00 || low > 0xDFFF)
            return fail("a high surrogate without a low one");
        m_pos += 6;
    }
    return {};
}

ErrorOr<void> Parser::number()
{
    const u32 index = TRY(add(JsonType::Number, m_pos));
    auto digits = [&]() {
        const usize start = m_pos;
        while (m_pos < m_length && kl::isdigit(m_text[m_pos]))
            ++m_pos;
        return m_pos - start;
    };
    if (m_text[m_pos] == '-')
        ++m_pos;
    if (m_pos < m_length && m_text[m_pos] == '0')
        ++m_pos;
    else if (digits() == 0)
        return fail("a number needs digits");
    if (m_pos < m_length && m_text[m_pos] == '.') {
        ++m_pos;
        if (digits() == 0)
            return fail("a digit must follow the decimal point");
    }
    if (m_pos < m_length && (m_text[m_pos] == 'e' || m_text[m_pos] == 'E')) {
        ++m_pos;
        if (m_pos < m_length && (m_text[m_pos] == '+' || m_text[m_pos] == '-'))
            ++m_pos;
        if (digits() == 0)
            return fail("a digit must follow the exponent");
    }
    if (m_pos < m_length && (kl::isdigit(m_text[m_pos]) || m_text[m_pos] == '.'))
        return fail("malformed number (leading zeros are not allowed)");
    m_tokens[index].end = static_cast<u32>(m_pos);
    return {};
}

ErrorOr<void> Parser::literal(const char* word, JsonType type)
{
    const usize length = strlen(word);
    if (m_length - m_pos < length || memcmp(m_text + m_pos, word, length) != 0)
        return fail("expected a value (object, array, string, number, true, false or null)");
    const u32 index = TRY(add(type, m_pos));
    m_pos += length;
    m_tokens[index].end = static_cast<u32>(m_pos);
    return {};
}

// Calls emit(byte) for each byte of the unescaped string; stops early (returning false) when
// emit does. The escapes were validated by the parser.
template<typename Emit>
bool for_each_unescaped(StringView raw, Emit emit)
{
    for (usize i = 0; i < raw.length;) {
        if (raw[i] != '\\') {
            if (!emit(raw[i++]))
                return false;
            continue;
        }
        const char e = raw[i + 1];
        if (e != 'u') {
            const char* from = "\"\\/bfnrt";
            const char* to = "\"\\/\b\f\n\r\t";
            if (!emit(to[strchr(from, e) - from]))
                return false;
            i += 2;
            continue;
        }
        u32 code_point = static_cast<u32>(hex4(raw.data + i + 2));
        i += 6;
        if (code_point >= 0xD800 && code_point <= 0xDBFF) {
            const u32 low = static_cast<u32>(hex4(raw.data + i + 2));
            code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
        }
        u8 bytes[4];
        const u32 count = utf8::encode(code_point, bytes);
        for (u32 k = 0; k < count; ++k) {
            if (!emit(static_cast<char>(bytes[k])))
                return false;
        }
    }
    return true;
}

}

const char* json_type_name(JsonType type)
{
    switch (type) {
    case JsonType::Object: return "object";
    case JsonType::Array: return "array";
    case JsonType::String: return "string";
    case JsonType::Number: return "number";
    case JsonType::True:
    case JsonType::False: return "boolean";
    case JsonType::Null: return "null";
    }
    return "?";
}

ErrorOr<JsonDocument> parse_json(const char* text, usize length, JsonToken* tokens, u32 capacity, JsonLimits limits)
{
    Parser parser(text, length, tokens, capacity, limits.max_depth);
    const u32 count = TRY(parser.run());
    return JsonDocument { text, length, tokens, count };
}

StringView JsonValue::raw() const
{
    const JsonToken& t = token();
    return { m_document->text + t.start, t.end - t.start };
}

JsonValue JsonValue::first() const
{
    if (!present() || (type() != JsonType::Object && type() != JsonType::Array) || count() == 0)
        return {};
    return { *m_document, m_index + 1 };
}

JsonValue JsonValue::next_sibling() const
{
    const u32 next = token().next;
    return next < m_document->token_count ? JsonValue(*m_document, next) : JsonValue();
}

JsonValue JsonValue::member_key(u32 i) const
{
    if (!is(JsonType::Object) || i >= count())
        return {};
    JsonValue key = first();
    for (; i > 0; --i)
        key = key.next_sibling().next_sibling();
    return key;
}

JsonValue JsonValue::member_value(u32 i) const
{
    JsonValue key = member_key(i);
    return key.present() ? key.next_sibling() : JsonValue();
}

JsonValue JsonValue::member(const char* key) const
{
    if (!is(JsonType::Object))
        return {};
    JsonValue k = first();
    for (u32 i = 0; i < count(); ++i) {
        JsonValue v = k.next_sibling();
        if (k.string_equals(key))
            return v;
        if (i + 1 < count())
            k = v.next_sibling();
    }
    return {};
}

JsonValue JsonValue::element(u32 i) const
{
    if (!is(JsonType::Array) || i >= count())
        return {};
    JsonValue e = first();
    for (; i > 0; --i)
        e = e.next_sibling();
    return e;
}

usize JsonValue::unescaped_length() const
{
    usize length = 0;
    for_each_unescaped(raw(), [&](char) { return ++length, true; });
    return length;
}

bool JsonValue::get_string(char* out, usize capacity, usize* length) const
{
    if (!is(JsonType::String) || capacity == 0)
        return false;
    usize used = 0;
    const bool fits = for_each_unescaped(raw(), [&](char c) {
        if (used + 1 >= capacity)
            return false;
        out[used++] = c;
        return true;
    });
    out[used] = 0;
    if (length)
        *length = used;
    return fits;
}

bool JsonValue::string_equals(const char* text) const
{
    if (!is(JsonType::String))
        return false;
    usize at = 0;
    const bool same = for_each_unescaped(raw(), [&](char c) { return text[at] != 0 && text[at++] == c; });
    return same && text[at] == 0;
}

bool JsonValue::get_double(double& out, double min, double max) const
{
    if (!is(JsonType::Number))
        return false;
    const StringView text = raw();
    char copy[64];
    if (text.length >= sizeof(copy))
        return false;
    memcpy(copy, text.data, text.length);
    copy[text.length] = 0;
    // kernel_lib's strtod on both sides, so that the kernel and the host tests read alike.
    const double value = kl::strtod(copy, nullptr);
    if (!(value >= min && value <= max))
        return false;
    out = value;
    return true;
}

bool JsonValue::get_integer(i64& out, i64 min, i64 max) const
{
    if (!is(JsonType::Number))
        return false;
    const StringView text = raw();
    const bool negative = text[0] == '-';
    u64 magnitude = 0;
    for (usize i = negative ? 1 : 0; i < text.length; ++i) {
        if (!kl::isdigit(text[i]))
            return false;  // a fraction or an exponent
        if (magnitude > (~0ull - 9) / 10)
            return false;
        magnitude = magnitude * 10 + static_cast<u64>(text[i] - '0');
    }
    if (magnitude > (negative ? (1ull << 63) : (1ull << 63) - 1))
        return false;
    const i64 value = negative ? static_cast<i64>(0 - magnitude) : static_cast<i64>(magnitude);
    if (value < min || value > max)
        return false;
    out = value;
    return true;
}

}
