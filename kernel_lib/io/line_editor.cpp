// Console line editing (see line_editor.h).
#include "kernel_lib/io/line_editor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace kl::input {

namespace {

bool is_continuation(char c) { return (static_cast<u8>(c) & 0xC0) == 0x80; }

char* duplicate(const char* text, usize length)
{
    char* copy = static_cast<char*>(malloc(length + 1));
    if (copy) {
        memcpy(copy, text, length);
        copy[length] = 0;
    }
    return copy;
}

}

LineEditor::~LineEditor()
{
    for (int i = 0; i < m_history_count; ++i)
        free(m_history[i]);
    free(m_draft);
}

void LineEditor::emit(const char* bytes, usize length)
{
    if (m_output && length)
        m_output(m_context, bytes, length);
}

void LineEditor::emit(const char* text) { emit(text, strlen(text)); }

void LineEditor::begin(const char* prompt, Output output, void* context)
{
    m_prompt = prompt;
    m_output = output;
    m_context = context;
    m_length = m_cursor = 0;
    m_buffer[0] = 0;
    m_browse = -1;
    free(m_draft);
    m_draft = nullptr;
    emit(m_prompt);
}

usize LineEditor::previous_char(usize at) const
{
    if (at == 0)
        return 0;
    --at;
    while (at > 0 && is_continuation(m_buffer[at]))
        --at;
    return at;
}

usize LineEditor::next_char(usize at) const
{
    if (at >= m_length)
        return m_length;
    ++at;
    while (at < m_length && is_continuation(m_buffer[at]))
        ++at;
    return at;
}

usize LineEditor::columns(usize from, usize to) const
{
    usize n = 0;
    for (usize i = from; i < to; ++i)
        n += !is_continuation(m_buffer[i]);
    return n;
}

void LineEditor::redraw()
{
    emit("\r");
    emit(m_prompt);
    emit(m_buffer, m_length);
    emit("\x1b[K");
    usize back = columns(m_cursor, m_length);
    if (back) {
        char move[16];
        snprintf(move, sizeof(move), "\x1b[%zuD", back);
        emit(move);
    }
}

void LineEditor::insert(u8 byte)
{
    if (m_length >= max_line)
        return;  // full: further typing is ignored (the console says the limit in /help)
    memmove(m_buffer + m_cursor + 1, m_buffer + m_cursor, m_length - m_cursor);
    m_buffer[m_cursor++] = static_cast<char>(byte);
    m_buffer[++m_length] = 0;
    // Typing at the end of the line, the common case, echoes just the byte.
    if (m_cursor == m_length)
        emit(reinterpret_cast<const char*>(&byte), 1);
    else if (!is_continuation(static_cast<char>(byte)))
        redraw();
}

void LineEditor::erase(usize from, usize to)
{
    if (from >= to)
        return;
    memmove(m_buffer + from, m_buffer + to, m_length - to);
    m_length -= to - from;
    m_buffer[m_length] = 0;
    m_cursor = from;
    redraw();
}

void LineEditor::remember()
{
    if (m_length == 0)
        return;
    if (m_history_count > 0 && strcmp(m_history[m_history_count - 1], m_buffer) == 0)
        return;  // no duplicates in a row
    char* copy = duplicate(m_buffer, m_length);
    if (!copy)
        return;
    if (m_history_count == history_size) {
        free(m_history[0]);
        memmove(m_history, m_history + 1, sizeof(m_history[0]) * (history_size - 1));
        --m_history_count;
    }
    m_history[m_history_count++] = copy;
}

void LineEditor::recall(int index)
{
    if (m_browse == -1) {
        free(m_draft);
        m_draft = duplicate(m_buffer, m_length);
    }
    m_browse = index;
    const char* text = index == -1 ? (m_draft ? m_draft : "") : m_history[index];
    usize length = strlen(text);
    if (length > max_line)
        length = max_line;
    memcpy(m_buffer, text, length);
    m_buffer[length] = 0;
    m_length = m_cursor = length;
    redraw();
}

LineEditor::Result LineEditor::feed(KeyEvent event)
{
    switch (event.key) {
    case Key::Char: insert(event.ch); break;
    case Key::Tab: insert(' '); break;
    case Key::Enter: return submit();
    case Key::Backspace: erase(previous_char(m_cursor), m_cursor); break;
    case Key::Delete: erase(m_cursor, next_char(m_cursor)); break;
    case Key::Left: move_left(); break;
    case Key::Right: move_right(); break;
    case Key::Home: move_to(0); break;
    case Key::End: move_to(m_length); break;
    case Key::Up: show_older(); break;
    case Key::Down: show_newer(); break;
    case Key::KillLine: erase(0, m_cursor); break;
    case Key::DeleteWord: erase(word_start(), m_cursor); break;
    case Key::ClearScreen: clear_screen(); break;
    case Key::Interrupt: return interrupt();
    case Key::EndOfInput: return end_of_input();
    case Key::Escape:
    case Key::None:
        break;
    }
    return Result::Editing;
}

LineEditor::Result LineEditor::submit()
{
    emit("\n");
    remember();
    return Result::Submitted;
}

void LineEditor::move_left()
{
    if (m_cursor > 0) {
        m_cursor = previous_char(m_cursor);
        emit("\x1b[D");
    }
}

void LineEditor::move_right()
{
    if (m_cursor < m_length) {
        m_cursor = next_char(m_cursor);
        emit("\x1b[C");
    }
}

void LineEditor::move_to(usize at)
{
    m_cursor = at;
    redraw();
}

void LineEditor::show_older()
{
    if (m_history_count > 0)
        recall(m_browse == -1 ? m_history_count - 1 : (m_browse > 0 ? m_browse - 1 : 0));
}

void LineEditor::show_newer()
{
    if (m_browse != -1)
        recall(m_browse + 1 < m_history_count ? m_browse + 1 : -1);
}

usize LineEditor::word_start() const
{
    usize at = m_cursor;
    while (at > 0 && m_buffer[at - 1] == ' ')
        --at;
    while (at > 0 && m_buffer[at - 1] != ' ')
        --at;
    return at;
}

void LineEditor::clear_screen()
{
    emit("\x1b[2J\x1b[H");
    redraw();
}

LineEditor::Result LineEditor::interrupt()
{
    emit("^C\n");
    m_length = m_cursor = 0;
    m_buffer[0] = 0;
    return Result::Interrupted;
}

LineEditor::Result LineEditor::end_of_input()
{
    if (m_length == 0) {
        emit("\n");
        return Result::EndOfInput;
    }
    erase(m_cursor, next_char(m_cursor));
    return Result::Editing;
}

}
