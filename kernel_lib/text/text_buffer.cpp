// TextBuffer (see text_buffer.h).
#include "kernel_lib/text/text_buffer.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_lib/base/error.h"
#include "kernel_lib/libc/format.h"

namespace kl {

namespace {

constexpr usize first_allocation = 256;

}

bool TextBuffer::make_room(usize extra)
{
    const usize used = m_end - m_begin;
    if (extra > m_max || used > m_max - extra)
        return false;
    if (m_end + extra <= m_capacity)
        return true;
    // Reuse the consumed front before growing.
    if (m_begin > 0) {
        memmove(m_data, m_data + m_begin, used);
        m_begin = 0;
        m_end = used;
        if (used + extra <= m_capacity)
            return true;
    }
    usize capacity = m_capacity ? m_capacity : first_allocation;
    while (capacity < used + extra)
        capacity *= 2;
    if (capacity > m_max)
        capacity = m_max;
    char* grown = static_cast<char*>(realloc(m_data, capacity));
    if (!grown)
        return false;
    m_data = grown;
    m_capacity = capacity;
    return true;
}

bool TextBuffer::reserve(usize extra) { return make_room(extra); }

void TextBuffer::commit(usize length)
{
    VERIFY(length <= m_capacity - m_end);
    m_end += length;
}

bool TextBuffer::append(const char* bytes, usize length)
{
    if (length == 0)
        return true;
    if (!make_room(length))
        return false;
    memcpy(m_data + m_end, bytes, length);
    m_end += length;
    return true;
}

bool TextBuffer::append(const char* text) { return append(text, strlen(text)); }

bool TextBuffer::vappendf(const char* fmt, va_list args)
{
    va_list again;
    va_copy(again, args);
    char small[128];
    const int needed = vsnprintf(small, sizeof(small), fmt, args);
    bool ok = needed >= 0;
    if (ok && static_cast<usize>(needed) < sizeof(small)) {
        ok = append(small, static_cast<usize>(needed));
    } else if (ok) {
        ok = make_room(static_cast<usize>(needed) + 1);
        if (ok) {
            vsnprintf(m_data + m_end, static_cast<usize>(needed) + 1, fmt, again);
            m_end += static_cast<usize>(needed);
        }
    }
    va_end(again);
    return ok;
}

bool TextBuffer::appendf(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    const bool ok = vappendf(fmt, args);
    va_end(args);
    return ok;
}

void TextBuffer::consume(usize length)
{
    m_begin += length < size() ? length : size();
    if (m_begin == m_end)
        m_begin = m_end = 0;
}

void TextBuffer::truncate(usize length)
{
    if (length < size())
        m_end = m_begin + length;
}

void TextBuffer::release()
{
    free(m_data);
    m_data = nullptr;
    m_capacity = m_begin = m_end = 0;
}

}
