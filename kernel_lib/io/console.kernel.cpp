// The kernel's kl::print: every line goes to COM1 and to the VGA text console.
#include "kernel_lib/libc/format.h"

#include "kernel_lib/io/print.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"

namespace kl {

void write(const char* bytes, unsigned long length)
{
    serial::write(bytes, length);
    vga::write(bytes, length);
}

// Formats straight into the devices, piece by piece: no buffer, so nothing is truncated.
void vprint(const char* fmt, va_list args)
{
    vformat([](void*, const char* bytes, size_t length) { write(bytes, length); }, nullptr, fmt, args);
}

void print(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vprint(fmt, args);
    va_end(args);
}

}
