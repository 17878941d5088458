// The kernel's kl::print: every line goes to COM1 and to the VGA text console.
#include <stdio.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"

namespace kl {

void write(const char* bytes, unsigned long length)
{
    serial::write(bytes, length);
    vga::write(bytes, length);
}

void vprint(const char* fmt, va_list args)
{
    char buffer[1024];
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(buffer, sizeof(buffer), fmt, args);
    if (needed < 0) {
        va_end(copy);
        return;
    }
    if (static_cast<unsigned long>(needed) < sizeof(buffer)) {
        write(buffer, static_cast<unsigned long>(needed));
    } else {
        // Longer than the stack buffer: format once more into a static one (kernel output
        // is single-threaded; a concurrent print would interleave anyway).
        static char big[16384];
        int n = vsnprintf(big, sizeof(big), fmt, copy);
        unsigned long length = static_cast<unsigned long>(n) < sizeof(big) ? static_cast<unsigned long>(n) : sizeof(big) - 1;
        write(big, length);
        if (static_cast<unsigned long>(n) >= sizeof(big)) {
            const char marker[] = "[... output truncated at 16 KiB]\n";
            write(marker, sizeof(marker) - 1);
        }
    }
    va_end(copy);
}

void print(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vprint(fmt, args);
    va_end(args);
}

}
