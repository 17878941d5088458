// COM1 driver (see serial.h). The UART's registers are at 0x3F8..0x3FF.
#include "kernel_lib/io/serial.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::serial {

namespace {

constexpr u16 port = 0x3F8;
constexpr u16 reg_data = 0, reg_ier = 1, reg_fcr = 2, reg_lcr = 3, reg_mcr = 4, reg_lsr = 5, reg_scratch = 7;
constexpr u8 lsr_data_ready = 0x01, lsr_tx_empty = 0x20;

bool g_present = false;
bool g_crlf = false;

// Bytes the transmit FIFO can still take without asking the UART again: after the
// "transmitter holding register empty" bit, the 16-byte FIFO (enabled in init) is empty.
// Under a hypervisor every port access traps, so asking once per 16 bytes matters.
u32 g_fifo_room = 0;
constexpr u32 fifo_size = 16;

void put(u8 byte)
{
    if (g_fifo_room == 0) {
        // Bounded wait: a wedged UART must not hang the machine.
        for (u32 spins = 0; spins < 1000000; ++spins) {
            if (x86::inb(port + reg_lsr) & lsr_tx_empty)
                break;
            x86::pause();
        }
        g_fifo_room = fifo_size;
    }
    --g_fifo_room;
    x86::outb(port + reg_data, byte);
}

}

void init()
{
    // A UART has a scratch register; an absent one reads back 0xFF.
    x86::outb(port + reg_scratch, 0x5A);
    g_present = x86::inb(port + reg_scratch) == 0x5A;
    if (!g_present)
        return;
    x86::outb(port + reg_ier, 0x00);
    x86::outb(port + reg_lcr, 0x80);  // divisor latch
    x86::outb(port + reg_data, 0x01);  // 115200 baud
    x86::outb(port + reg_ier, 0x00);
    x86::outb(port + reg_lcr, 0x03);  // 8N1
    x86::outb(port + reg_fcr, 0xC7);
    x86::outb(port + reg_mcr, 0x03);
}

bool present() { return g_present; }

void set_crlf(bool enabled) { g_crlf = enabled; }

void write(const char* bytes, usize length)
{
    if (!g_present)
        return;
    for (usize i = 0; i < length; ++i) {
        if (g_crlf && bytes[i] == '\n')
            put('\r');
        put(static_cast<u8>(bytes[i]));
    }
}

bool try_read(u8& byte)
{
    if (!g_present || !(x86::inb(port + reg_lsr) & lsr_data_ready))
        return false;
    byte = x86::inb(port + reg_data);
    return true;
}

}
