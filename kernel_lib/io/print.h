// One formatted-print entry point for the whole program.
//
// Kernel: serial (COM1) and the VGA console at once. Host: stderr (stdout is reserved for
// the generated text). Format strings are those of kl::vsnprintf (kernel_lib/libc).
#pragma once

#include <stdarg.h>

namespace kl {

void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char* fmt, va_list args);
// Raw bytes, no formatting (streamed model text).
void write(const char* bytes, unsigned long length);

}
