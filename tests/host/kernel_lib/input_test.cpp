// Console input: terminal escape sequences, PS/2 scancodes and line editing.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "kernel_lib/io/ansi_decoder.h"
#include "kernel_lib/io/line_editor.h"
#include "kernel_lib/io/scancode.h"

using kl::input::AnsiDecoder;
using kl::input::Key;
using kl::input::KeyEvent;
using kl::input::LineEditor;
using kl::input::ScancodeDecoder;

namespace {

std::vector<KeyEvent> decode(const std::string& bytes)
{
    AnsiDecoder d;
    std::vector<KeyEvent> events;
    KeyEvent e;
    for (unsigned char b : bytes)
        if (d.feed(b, e))
            events.push_back(e);
    if (d.timeout(e))
        events.push_back(e);
    return events;
}

std::vector<KeyEvent> scan(const std::vector<u8>& codes)
{
    ScancodeDecoder d;
    std::vector<KeyEvent> events;
    KeyEvent e;
    for (u8 c : codes)
        if (d.feed(c, e))
            events.push_back(e);
    return events;
}

std::string chars(const std::vector<KeyEvent>& events)
{
    std::string s;
    for (auto& e : events)
        s += e.key == Key::Char ? static_cast<char>(e.ch) : '?';
    return s;
}

struct Screen {
    std::string output;
    static void write(void* context, const char* bytes, usize length)
    {
        static_cast<Screen*>(context)->output.append(bytes, length);
    }
};

LineEditor::Result type(LineEditor& editor, const std::string& bytes)
{
    AnsiDecoder d;
    KeyEvent e;
    LineEditor::Result result = LineEditor::Result::Editing;
    for (unsigned char b : bytes)
        if (d.feed(b, e))
            result = editor.feed(e);
    return result;
}

}

TEST_CASE("terminal bytes decode to text, control keys and escape sequences", "[input]")
{
    CHECK(chars(decode("hi!")) == "hi!");
    auto arrows = decode("\x1b[A\x1b[B\x1b[C\x1b[D\x1bOH\x1b[F\x1b[3~\x1b[1~\x1b[4~");
    std::vector<Key> expected { Key::Up, Key::Down, Key::Right, Key::Left, Key::Home, Key::End, Key::Delete,
        Key::Home, Key::End };
    REQUIRE(arrows.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i)
        CHECK(arrows[i].key == expected[i]);
    auto controls = decode(std::string("\x03\x04\x7f\x08\x15\x17\x0c", 7));
    CHECK(controls.size() == 7);
    CHECK(controls[0].key == Key::Interrupt);
    CHECK(controls[1].key == Key::EndOfInput);
    CHECK(controls[2].key == Key::Backspace);
    CHECK(controls[3].key == Key::Backspace);
    CHECK(controls[4].key == Key::KillLine);
    CHECK(controls[5].key == Key::DeleteWord);
    CHECK(controls[6].key == Key::ClearScreen);
    // CR LF is one Enter; two CRs are two.
    CHECK(decode("a\r\nb").size() == 3);
    CHECK(decode("\r\r").size() == 2);
    // A lone ESC becomes Escape only when the line goes quiet; an unknown CSI is swallowed.
    auto esc = decode("\x1b");
    REQUIRE(esc.size() == 1);
    CHECK(esc[0].key == Key::Escape);
    CHECK(chars(decode("\x1b[99zok")) == "ok");
    // UTF-8 passes through byte by byte.
    CHECK(chars(decode("\xc3\xa9")) == "\xc3\xa9");
}

TEST_CASE("PS/2 scancodes decode with shift, caps lock and ctrl", "[input]")
{
    // h i (press/release), shift+1 -> '!'
    CHECK(chars(scan({ 0x23, 0xA3, 0x17, 0x97, 0x2A, 0x02, 0x82, 0xAA })) == "hi!");
    // caps lock toggles letters only
    CHECK(chars(scan({ 0x3A, 0xBA, 0x1E, 0x02 })) == "A1");
    // ctrl+c is Interrupt; E0-prefixed arrows; Enter; Backspace
    auto keys = scan({ 0x1D, 0x2E, 0xAE, 0x9D, 0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x4B, 0x1C, 0x0E });
    REQUIRE(keys.size() == 5);
    CHECK(keys[0].key == Key::Interrupt);
    CHECK(keys[1].key == Key::Up);
    CHECK(keys[2].key == Key::Left);
    CHECK(keys[3].key == Key::Enter);
    CHECK(keys[4].key == Key::Backspace);
}

TEST_CASE("the line editor inserts, moves, deletes and submits", "[input]")
{
    LineEditor editor;
    Screen screen;
    editor.begin("> ", Screen::write, &screen);
    CHECK(screen.output == "> ");
    CHECK(type(editor, "helo") == LineEditor::Result::Editing);
    type(editor, "\x1b[D");  // left
    type(editor, "l");       // insert in the middle
    CHECK(std::string(editor.line()) == "hello");
    CHECK(editor.cursor() == 4);
    type(editor, "\x1b[F world");  // End, then append
    CHECK(std::string(editor.line()) == "hello world");
    type(editor, "\x17");  // Ctrl-W deletes "world"
    CHECK(std::string(editor.line()) == "hello ");
    type(editor, "\x7f\x7f");
    CHECK(std::string(editor.line()) == "hell");
    type(editor, "\x1b[H\x1b[3~");  // Home, Delete
    CHECK(std::string(editor.line()) == "ell");
    CHECK(type(editor, "\r") == LineEditor::Result::Submitted);
    CHECK(std::string(editor.line()) == "ell");
    CHECK(screen.output.find("\x1b[K") != std::string::npos);  // redraws erase the tail
}

TEST_CASE("the line editor moves over UTF-8 characters as wholes", "[input]")
{
    LineEditor editor;
    editor.begin("", nullptr, nullptr);
    type(editor, "a\xc3\xa9" "b");  // a é b
    type(editor, "\x1b[D\x1b[D");
    CHECK(editor.cursor() == 1);
    type(editor, "\x1b[3~");  // deletes both bytes of é
    CHECK(std::string(editor.line()) == "ab");
}

TEST_CASE("history is browsed with up and down; Ctrl-C and Ctrl-D end a line", "[input]")
{
    LineEditor editor;
    editor.begin("", nullptr, nullptr);
    type(editor, "first\r");
    editor.begin("", nullptr, nullptr);
    type(editor, "second\r");
    editor.begin("", nullptr, nullptr);
    type(editor, "draft");
    type(editor, "\x1b[A");
    CHECK(std::string(editor.line()) == "second");
    type(editor, "\x1b[A\x1b[A");
    CHECK(std::string(editor.line()) == "first");
    type(editor, "\x1b[B\x1b[B");
    CHECK(std::string(editor.line()) == "draft");
    CHECK(editor.history_count() == 2);
    CHECK(type(editor, "\x03") == LineEditor::Result::Interrupted);
    CHECK(editor.length() == 0);
    editor.begin("", nullptr, nullptr);
    CHECK(type(editor, "\x04") == LineEditor::Result::EndOfInput);
}

TEST_CASE("the line editor never overflows its buffer", "[input]")
{
    LineEditor editor;
    editor.begin("", nullptr, nullptr);
    type(editor, std::string(LineEditor::max_line + 100, 'x'));
    CHECK(editor.length() == LineEditor::max_line);
}
