// Bytes from a serial terminal to key events: plain text, control characters, and the
// ANSI/VT escape sequences terminals send for arrows, Home, End and Delete.
//
// A lone ESC is ambiguous until the next byte (or its absence) arrives: the decoder holds
// it, and the caller reports silence with `timeout()` (the console does after ~50 ms).
// CR LF and LF CR pairs count as one Enter.
#pragma once

#include "kernel_lib/io/keys.h"

namespace kl::input {

class AnsiDecoder {
public:
    // Feeds one byte; true when it completed a key event in `out`.
    bool feed(u8 byte, KeyEvent& out);
    // No byte arrived for a while: a pending lone ESC becomes an Escape event.
    bool timeout(KeyEvent& out);
    bool pending() const { return m_state != State::Ground; }

private:
    enum class State : u8 { Ground, Escape, Csi, Ss3 };
    // The steps of feed(), one per state; SS3 (ESC O) needs only its final letter.
    bool ground_byte(u8 byte, KeyEvent& out);  // text, control characters, ESC
    bool escape_byte(u8 byte, KeyEvent& out);  // after ESC: '[', 'O' or a lone Escape
    bool csi_byte(u8 byte, KeyEvent& out);     // after ESC [: a number, then the final byte

    State m_state = State::Ground;
    u8 m_param = 0;
    u8 m_last_newline = 0;
};

}
