// TextBuffer: a growable byte buffer with a hard cap, for protocol output and input.
//
// Network code must never let a client make it hold unbounded memory, so every buffer has
// a cap set at construction: an append that would pass it fails (returns false) and leaves
// the buffer as it was, and the caller decides what that means (413, a dropped slow reader).
// Memory comes from malloc (the kernel heap, or the host's) in steps that double, and is
// given back by the destructor or release(). Bytes read from the front are dropped by
// consume() without moving the rest until the space is needed.
#pragma once

#include <stdarg.h>

#include "kernel_lib/base/types.h"
#include "kernel_lib/text/string_view.h"

namespace kl {

class TextBuffer {
public:
    explicit TextBuffer(usize max_bytes) : m_max(max_bytes) {}
    ~TextBuffer() { release(); }
    TextBuffer(const TextBuffer&) = delete;
    TextBuffer& operator=(const TextBuffer&) = delete;

    // The bytes held, from the first not yet consumed.
    char* data() { return m_data + m_begin; }
    const char* data() const { return m_data + m_begin; }
    usize size() const { return m_end - m_begin; }
    bool empty() const { return m_end == m_begin; }
    StringView view() const { return { data(), size() }; }
    usize max_bytes() const { return m_max; }
    // A new cap (for buffers made before their limits were known); at least size().
    void set_max_bytes(usize max_bytes) { m_max = max_bytes > size() ? max_bytes : size(); }

    // Each fails (false, buffer unchanged) when the cap or the heap says no.
    bool append(const char* bytes, usize length);
    bool append(StringView text) { return append(text.data, text.length); }
    bool append(const char* text);
    bool append_char(char c) { return append(&c, 1); }
    bool appendf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    bool vappendf(const char* fmt, va_list args);
    // Room for `extra` more bytes without another allocation.
    bool reserve(usize extra);
    // The writable tail after reserve(): write, then commit() what was written.
    char* tail() { return m_data + m_end; }
    void commit(usize length);

    // Drops the first `length` bytes (at most size()).
    void consume(usize length);
    // Keeps only the first `length` bytes.
    void truncate(usize length);
    void clear() { m_begin = m_end = 0; }
    // Empty, and the memory back to the heap.
    void release();

private:
    bool make_room(usize extra);

    char* m_data = nullptr;
    usize m_capacity = 0;
    usize m_begin = 0;
    usize m_end = 0;
    usize m_max;
};

}
