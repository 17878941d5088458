// Keyboard input as the console sees it: one KeyEvent per key, whether it came from the
// PS/2 keyboard (scancode.h) or from a terminal on the serial port (ansi_decoder.h).
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::input {

enum class Key : u8 {
    None,
    Char,         // a byte of text in `ch` (UTF-8 sequences arrive byte by byte)
    Enter,
    Backspace,
    Delete,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    Tab,
    Escape,
    Interrupt,    // Ctrl-C
    EndOfInput,   // Ctrl-D
    ClearScreen,  // Ctrl-L
    KillLine,     // Ctrl-U
    DeleteWord,   // Ctrl-W
};

struct KeyEvent {
    Key key = Key::None;
    u8 ch = 0;
};

// Control characters with a meaning of their own (shared by both decoders).
inline KeyEvent control_key(u8 byte)
{
    switch (byte) {
    case 0x01: return { Key::Home, 0 };         // Ctrl-A
    case 0x03: return { Key::Interrupt, 0 };    // Ctrl-C
    case 0x04: return { Key::EndOfInput, 0 };   // Ctrl-D
    case 0x05: return { Key::End, 0 };          // Ctrl-E
    case 0x08: return { Key::Backspace, 0 };    // Ctrl-H
    case 0x09: return { Key::Tab, 0 };
    case 0x0A: return { Key::Enter, 0 };
    case 0x0C: return { Key::ClearScreen, 0 };  // Ctrl-L
    case 0x0D: return { Key::Enter, 0 };
    case 0x15: return { Key::KillLine, 0 };     // Ctrl-U
    case 0x17: return { Key::DeleteWord, 0 };   // Ctrl-W
    case 0x1B: return { Key::Escape, 0 };
    case 0x7F: return { Key::Backspace, 0 };
    default: return { Key::None, 0 };
    }
}

}
