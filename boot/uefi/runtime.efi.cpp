// What the loader's freestanding C++ needs from a C runtime, and the fatal-error paths of
// kernel_lib's shared code (VERIFY, PANIC) for the loader: a report, then back to the firmware.
//
// The loader links a few kernel_lib files unchanged (directory and payload checks, CRC-32C,
// CPU features, the formatter, string functions); this file gives them the symbols the
// kernel defines in its own *.kernel.cpp files.
#include <stdarg.h>
#include <stdio.h>

#include "boot/uefi/console.efi.h"
#include "boot/uefi/firmware.efi.h"
#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/base/error.h"
#include "kernel_lib/libc/format.h"

extern "C" {

// The Windows target's marker that floating point is used (the formatter prints doubles).
int _fltused = 0;

int vsnprintf(char* buffer, size_t size, const char* fmt, va_list args) { return kl::vsnprintf(buffer, size, fmt, args); }

int snprintf(char* buffer, size_t size, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = kl::vsnprintf(buffer, size, fmt, args);
    va_end(args);
    return n;
}

}

namespace kl {

void panic_with(ErrorCode code, const char* fmt, ...)
{
    char message[Error::max_message];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    uefi::console::report(Error::make(code, "%s", message));
    if (uefi::firmware::boot_services_active()) {
        uefi::console::wait_for_key(30);
        uefi::firmware::boot_services()->exit(uefi::firmware::image(), efi::load_error, 0, nullptr);
    }
    for (;;) {
        x86::cli();
        x86::hlt();
    }
}

void verify_failed(const char* expr, const char* file, int line)
{
    panic_with(ErrorCode::InternalVerify, "VERIFY(%s) failed at %s:%d", expr, file, line);
}

}
