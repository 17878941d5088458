// ANSI terminal input decoding (see ansi_decoder.h).
#include "kernel_lib/io/ansi_decoder.h"

namespace kl::input {

namespace {

// The final letter of a CSI or SS3 sequence: the arrows, Home and End.
bool letter_key(u8 byte, KeyEvent& out)
{
    switch (byte) {
    case 'A': out = { Key::Up, 0 }; return true;
    case 'B': out = { Key::Down, 0 }; return true;
    case 'C': out = { Key::Right, 0 }; return true;
    case 'D': out = { Key::Left, 0 }; return true;
    case 'H': out = { Key::Home, 0 }; return true;
    case 'F': out = { Key::End, 0 }; return true;
    default: return false;
    }
}

// ESC [ n ~: Home (1 or 7), End (4 or 8), Delete (3); other numbers are swallowed.
bool tilde_key(u8 param, KeyEvent& out)
{
    if (param == 1 || param == 7) {
        out = { Key::Home, 0 };
        return true;
    }
    if (param == 4 || param == 8) {
        out = { Key::End, 0 };
        return true;
    }
    if (param == 3) {
        out = { Key::Delete, 0 };
        return true;
    }
    return false;
}

}

bool AnsiDecoder::feed(u8 byte, KeyEvent& out)
{
    switch (m_state) {
    case State::Ground:
        return ground_byte(byte, out);
    case State::Escape:
        return escape_byte(byte, out);
    case State::Csi:
        return csi_byte(byte, out);
    case State::Ss3:
        m_state = State::Ground;
        return letter_key(byte, out);
    }
    return false;
}

bool AnsiDecoder::ground_byte(u8 byte, KeyEvent& out)
{
    if (byte == 0x1B) {
        m_state = State::Escape;
        m_last_newline = 0;
        return false;
    }
    if (byte == '\r' || byte == '\n') {
        // The second half of CR LF / LF CR is swallowed.
        if (m_last_newline != 0 && m_last_newline != byte) {
            m_last_newline = 0;
            return false;
        }
        m_last_newline = byte;
        out = { Key::Enter, 0 };
        return true;
    }
    m_last_newline = 0;
    if (byte < 0x20 || byte == 0x7F) {
        out = control_key(byte);
        return out.key != Key::None;
    }
    out = { Key::Char, byte };
    return true;
}

bool AnsiDecoder::escape_byte(u8 byte, KeyEvent& out)
{
    if (byte == '[') {
        m_state = State::Csi;
        m_param = 0;
        return false;
    }
    if (byte == 'O') {
        m_state = State::Ss3;
        return false;
    }
    // ESC followed by something else: the Escape key; the byte is dropped (Alt+key).
    m_state = State::Ground;
    out = { Key::Escape, 0 };
    return true;
}

bool AnsiDecoder::csi_byte(u8 byte, KeyEvent& out)
{
    if (byte >= '0' && byte <= '9') {
        m_param = static_cast<u8>(m_param * 10 + (byte - '0'));
        return false;
    }
    if (byte == ';')
        return false;  // modifiers (Ctrl+arrow, ...) are ignored
    m_state = State::Ground;
    if (byte == '~')
        return tilde_key(m_param, out);
    return letter_key(byte, out);  // an unknown sequence is swallowed whole
}

bool AnsiDecoder::timeout(KeyEvent& out)
{
    if (m_state != State::Escape)
        return false;
    m_state = State::Ground;
    out = { Key::Escape, 0 };
    return true;
}

}
