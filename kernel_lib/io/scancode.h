// PS/2 keyboard scancodes (set 1, as the controller translates them by default) to key
// events, US layout, with Shift, Caps Lock and Ctrl.
#pragma once

#include "kernel_lib/io/keys.h"

namespace kl::input {

class ScancodeDecoder {
public:
    // Feeds one byte from port 0x60; true when it completed a key press in `out`.
    bool feed(u8 scancode, KeyEvent& out);

private:
    bool m_extended = false;
    bool m_shift_left = false, m_shift_right = false;
    bool m_ctrl = false;
    bool m_caps = false;
};

}
