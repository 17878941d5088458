// Pieces shared by the two halves of the formatter (format.cpp, format_float.cpp).
#pragma once

#include "kernel_lib/base/types.h"
#include "kernel_lib/libc/format.h"

namespace kl::detail {

// One parsed conversion specification.
struct FormatSpec {
    bool left { false };     // '-'
    bool plus { false };     // '+'
    bool space { false };    // ' '
    bool alt { false };      // '#'
    bool zero { false };     // '0'
    int width { 0 };
    int precision { -1 };    // -1: not given
    char conversion { 0 };
};

// Buffers output and hands it to the sink in chunks; counts everything produced. With a
// null sink it only counts (to measure a field before padding it). Out of line
// (format.cpp): one call per character keeps the formatter small.
class FormatWriter {
public:
    FormatWriter(FormatSink sink, void* context) : m_sink(sink), m_context(context) {}

    void put(char c);
    void put(const char* s, usize n);
    void repeat(char c, i64 n);
    void flush();
    u64 total() const { return m_total; }

private:
    FormatSink m_sink;
    void* m_context;
    char m_buffer[64];
    usize m_used { 0 };
    u64 m_total { 0 };
};

// Spaces before a right-aligned field of `length` characters (0 when left-aligned or wide
// enough), and after a left-aligned one.
inline i64 pad_before(const FormatSpec& spec, i64 length) { return spec.left ? 0 : spec.width - length; }
inline i64 pad_after(const FormatSpec& spec, i64 length) { return spec.left ? spec.width - length : 0; }

// %f %F %e %E %g %G of one value.
void format_double(FormatWriter& out, const FormatSpec& spec, double value);

}
