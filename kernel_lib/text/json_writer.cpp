// The JSON writer and the escaping it uses (see json.h).
#include "kernel_lib/text/json.h"

#include "kernel_lib/text/utf8.h"

namespace kl {

namespace {

constexpr u64 max_writer_depth = 63;

}

bool json_append_escaped(TextBuffer& out, StringView text)
{
    const u8* p = reinterpret_cast<const u8*>(text.data);
    usize i = 0, plain = 0;  // [plain, i): bytes that go out unchanged
    auto flush = [&]() { return out.append(text.data + plain, i - plain); };
    while (i < text.length) {
        if (p[i] >= 0x80) {
            const u32 length = utf8::sequence_length(p + i, text.length - i);
            if (length > 0) {
                i += length;
                continue;
            }
            if (!flush() || !out.append("\\ufffd"))
                return false;
            plain = ++i;
            continue;
        }
        char escaped[6];
        const u32 length = json_escape_ascii(p[i], escaped);
        if (length == 0) {
            ++i;
            continue;
        }
        if (!flush() || !out.append(escaped, length))
            return false;
        plain = ++i;
    }
    return flush();
}

void JsonWriter::before_value()
{
    if (m_after_key) {
        m_after_key = false;
        return;
    }
    if (m_depth > 0) {
        if (m_has_items & (1ull << m_depth))
            m_ok = m_out.append_char(',') && m_ok;
        m_has_items |= 1ull << m_depth;
    }
}

void JsonWriter::open(char c)
{
    before_value();
    if (m_depth == max_writer_depth) {
        m_ok = false;
        return;
    }
    ++m_depth;
    m_has_items &= ~(1ull << m_depth);
    m_ok = m_out.append_char(c) && m_ok;
}

void JsonWriter::close(char c)
{
    if (m_depth == 0 || m_after_key) {
        m_ok = false;
        return;
    }
    --m_depth;
    m_ok = m_out.append_char(c) && m_ok;
}

void JsonWriter::begin_object() { open('{'); }
void JsonWriter::end_object() { close('}'); }
void JsonWriter::begin_array() { open('['); }
void JsonWriter::end_array() { close(']'); }

void JsonWriter::key(const char* name)
{
    before_value();
    m_ok = m_out.append_char('"') && json_append_escaped(m_out, name) && m_out.append("\":") && m_ok;
    m_after_key = true;
}

void JsonWriter::string(StringView text)
{
    before_value();
    m_ok = m_out.append_char('"') && json_append_escaped(m_out, text) && m_out.append_char('"') && m_ok;
}

void JsonWriter::integer(i64 value)
{
    before_value();
    m_ok = m_out.appendf("%lld", static_cast<long long>(value)) && m_ok;
}

void JsonWriter::number(double value, int decimals)
{
    // JSON has no NaN or infinity.
    if (value != value || value > 1e300 || value < -1e300) {
        null();
        return;
    }
    before_value();
    m_ok = m_out.appendf("%.*f", decimals, value) && m_ok;
}

void JsonWriter::boolean(bool value)
{
    before_value();
    m_ok = m_out.append(value ? "true" : "false") && m_ok;
}

void JsonWriter::null()
{
    before_value();
    m_ok = m_out.append("null") && m_ok;
}

void JsonWriter::raw(StringView json)
{
    before_value();
    m_ok = m_out.append(json) && m_ok;
}

}
