// CompletionText (see completion_text.h).
#include "tinyllama/serve/completion_text.h"

#include <string.h>

#include "kernel_lib/text/utf8.h"

namespace tllama::serve {

void CompletionText::reset(const CompletionRequest& request)
{
    m_text.clear();
    m_stops = request.stop;
    m_stop_count = request.stop_count;
    m_taken = 0;
    m_stop_matched = m_full = m_finished = false;
}

bool CompletionText::add(const char* bytes, usize length)
{
    if (m_stop_matched || m_full)
        return false;
    const usize before = m_text.size();
    if (!m_text.append(bytes, length)) {
        m_full = true;
        return false;
    }
    // A stop sequence can only end inside the new bytes: search from where it could start.
    const char* text = m_text.data();
    const usize size = m_text.size();
    usize cut = size;
    for (u32 i = 0; i < m_stop_count; ++i) {
        const usize stop_length = strlen(m_stops[i]);
        usize from = before + 1 > stop_length ? before + 1 - stop_length : 0;
        for (; from + stop_length <= size && from < cut; ++from) {
            if (memcmp(text + from, m_stops[i], stop_length) == 0) {
                cut = from;
                break;
            }
        }
    }
    if (cut < size) {
        m_text.truncate(cut);
        m_stop_matched = true;
        return false;
    }
    return true;
}

usize CompletionText::stop_prefix_tail() const
{
    const char* text = m_text.data();
    const usize size = m_text.size();
    usize longest = 0;
    for (u32 i = 0; i < m_stop_count; ++i) {
        const usize stop_length = strlen(m_stops[i]);
        for (usize tail = stop_length - 1; tail > longest; --tail) {
            if (tail <= size && memcmp(text + size - tail, m_stops[i], tail) == 0) {
                longest = tail;
                break;
            }
        }
    }
    return longest;
}

kl::StringView CompletionText::ready() const
{
    usize end = m_text.size();
    if (!m_finished && !m_stop_matched) {
        end -= stop_prefix_tail();
        end = kl::utf8::complete_prefix(reinterpret_cast<const u8*>(m_text.data()), end);
    }
    if (end <= m_taken)
        return { m_text.data() + m_taken, 0 };
    return { m_text.data() + m_taken, end - m_taken };
}

}
