// Scancode set 1 decoding (see scancode.h).
#include "kernel_lib/io/scancode.h"

namespace kl::input {

namespace {

// Make codes 0x00-0x39 of the US layout, unshifted and shifted; 0 = no character.
constexpr char plain[0x3A] = {
    0, 0x1B, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', 0x7F, '\t',
    'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\r', 0, 'a', 's',
    'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
    'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
constexpr char shifted[0x3A] = {
    0, 0x1B, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', 0x7F, '\t',
    'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\r', 0, 'A', 'S',
    'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
    'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ',
};

constexpr u8 left_shift = 0x2A, right_shift = 0x36, ctrl = 0x1D, caps_lock = 0x3A;

}

bool ScancodeDecoder::feed(u8 scancode, KeyEvent& out)
{
    if (scancode == 0xE0) {
        m_extended = true;
        return false;
    }
    bool released = scancode & 0x80;
    u8 code = scancode & 0x7F;
    bool extended = m_extended;
    m_extended = false;

    if (code == ctrl) {
        m_ctrl = !released;  // left and right Ctrl (E0 1D) alike
        return false;
    }
    if (extended) {
        if (released)
            return false;
        switch (code) {
        case 0x48: out = { Key::Up, 0 }; return true;
        case 0x50: out = { Key::Down, 0 }; return true;
        case 0x4B: out = { Key::Left, 0 }; return true;
        case 0x4D: out = { Key::Right, 0 }; return true;
        case 0x47: out = { Key::Home, 0 }; return true;
        case 0x4F: out = { Key::End, 0 }; return true;
        case 0x53: out = { Key::Delete, 0 }; return true;
        case 0x1C: out = { Key::Enter, 0 }; return true;  // keypad Enter
        case 0x35: out = { Key::Char, '/' }; return true;  // keypad /
        default: return false;                             // fake shifts, media keys
        }
    }
    if (code == left_shift) {
        m_shift_left = !released;
        return false;
    }
    if (code == right_shift) {
        m_shift_right = !released;
        return false;
    }
    if (released)
        return false;
    if (code == caps_lock) {
        m_caps = !m_caps;
        return false;
    }
    if (code >= sizeof(plain))
        return false;
    bool shift = m_shift_left || m_shift_right;
    char c = shift ? shifted[code] : plain[code];
    if (c >= 'a' && c <= 'z' && m_caps)
        c = static_cast<char>(c - 'a' + 'A');
    else if (c >= 'A' && c <= 'Z' && m_caps)
        c = static_cast<char>(c - 'A' + 'a');
    if (c == 0)
        return false;
    u8 byte = static_cast<u8>(c);
    if (m_ctrl && ((byte | 0x20) >= 'a' && (byte | 0x20) <= 'z'))
        byte = static_cast<u8>((byte | 0x20) - 'a' + 1);  // Ctrl-A = 1 ... Ctrl-Z = 26
    if (byte < 0x20 || byte == 0x7F) {
        out = control_key(byte);
        return out.key != Key::None;
    }
    out = { Key::Char, byte };
    return true;
}

}
