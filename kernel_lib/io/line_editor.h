// A line editor for the console: insert anywhere, move by character (UTF-8 aware), delete,
// kill line/word, and a history browsed with Up/Down.
//
// It writes its echo as text with a few ANSI sequences (CR, ESC[K erase to end of line,
// ESC[nD / ESC[nC cursor left/right, ESC[2J ESC[H clear) that serial terminals understand
// and the VGA console interprets too, so one rendering serves both.
#pragma once

#include "kernel_lib/io/keys.h"

namespace kl::input {

class LineEditor {
public:
    static constexpr usize max_line = 4000;
    static constexpr int history_size = 32;

    using Output = void (*)(void* context, const char* bytes, usize length);

    enum class Result : u8 { Editing, Submitted, Interrupted, EndOfInput };

    LineEditor() = default;
    ~LineEditor();
    LineEditor(const LineEditor&) = delete;
    LineEditor& operator=(const LineEditor&) = delete;

    // Starts a new line: prints `prompt` (kept for redraws; must outlive the line).
    void begin(const char* prompt, Output output, void* context);
    Result feed(KeyEvent event);

    // The line (NUL-terminated); valid after Submitted until the next begin().
    const char* line() const { return m_buffer; }
    usize length() const { return m_length; }
    usize cursor() const { return m_cursor; }
    int history_count() const { return m_history_count; }

private:
    void emit(const char* text);
    void emit(const char* bytes, usize length);
    void redraw();
    void insert(u8 byte);
    void erase(usize from, usize to);
    usize previous_char(usize at) const;
    usize next_char(usize at) const;
    usize columns(usize from, usize to) const;
    void remember();
    void recall(int index);

    // The steps of feed(), for the keys that need more than a line.
    Result submit();                  // Enter: the line is done (and remembered)
    void move_left();                 // one character, not one byte
    void move_right();
    void move_to(usize at);           // Home, End
    void show_older();                // Up: the previous history entry
    void show_newer();                // Down: the next one, after the last the new line
    usize word_start() const;         // where Ctrl-W erases back to
    void clear_screen();              // Ctrl-L: clear, then draw the line again
    Result interrupt();               // Ctrl-C: the line is dropped
    Result end_of_input();            // Ctrl-D: end of input on an empty line, else Delete

    char m_buffer[max_line + 1] {};
    usize m_length = 0;
    usize m_cursor = 0;
    const char* m_prompt = "";
    Output m_output = nullptr;
    void* m_context = nullptr;

    char* m_history[history_size] {};  // oldest first, heap copies
    int m_history_count = 0;
    int m_browse = -1;                 // history index being shown, -1 = the new line
    char* m_draft = nullptr;           // the new line while browsing
};

}
