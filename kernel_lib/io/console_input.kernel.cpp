// Polled console input: serial bytes through the ANSI decoder, PS/2 scancodes through the
// scancode decoder (see console_input.h).
#include "kernel_lib/io/console_input.h"

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/io/ansi_decoder.h"
#include "kernel_lib/io/scancode.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/time/tsc.h"

namespace kl::input {

namespace {

constexpr u16 ps2_data = 0x60, ps2_status = 0x64;
constexpr u8 status_output_full = 0x01, status_from_mouse = 0x20;

AnsiDecoder g_serial;
ScancodeDecoder g_keyboard;
u64 g_escape_since = 0;

}

bool poll_key(KeyEvent& out)
{
    u8 byte;
    while (serial::try_read(byte)) {
        if (g_serial.feed(byte, out))
            return true;
        if (g_serial.pending() && g_escape_since == 0)
            g_escape_since = time::rdtsc();
    }
    // A lone ESC from the terminal is the Escape key once 50 ms pass without more bytes.
    if (g_serial.pending() && g_escape_since != 0 && time::cycles_to_ms(time::rdtsc() - g_escape_since) > 50.0) {
        g_escape_since = 0;
        if (g_serial.timeout(out))
            return true;
    }
    if (!g_serial.pending())
        g_escape_since = 0;

    u8 status = x86::inb(ps2_status);
    if (status & status_output_full) {
        u8 scancode = x86::inb(ps2_data);
        if (!(status & status_from_mouse) && g_keyboard.feed(scancode, out))
            return true;
    }
    return false;
}

KeyEvent wait_key()
{
    vga::sync_cursor();
    KeyEvent event;
    while (!poll_key(event))
        x86::pause();
    return event;
}

}
