// printf-style formatting (kernel_lib/libc/format.cpp, format_float.cpp).
//
// Conversions: %d %i %u %x %X %o %p %s %c %f %F %e %E %g %G %%, flags - + space 0 #,
// width and precision (also `*`), length modifiers hh h l ll z j t L. The output is the
// same as glibc's, floating point included: digits come from the exact binary value and
// ties round half to even, as glibc does. Not supported: %a, %n, wide characters; %L
// reads a long double but formats it at double precision (nothing in BareFlow prints
// long doubles). An unknown conversion is copied to the output as written. A floating
// point conversion uses about 1.2 KiB of stack (the digits of the exact value).
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace kl {

int snprintf(char* buffer, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
// Writes at most size - 1 characters and a terminator (when size > 0); returns the length
// the full output would have had, as C does.
int vsnprintf(char* buffer, size_t size, const char* fmt, va_list args);

// The same formatter with the output streamed in pieces of up to 64 bytes to `sink`, so
// that a console printer needs no line buffer. Returns the number of bytes produced.
using FormatSink = void (*)(void* context, const char* bytes, size_t length);
int vformat(FormatSink sink, void* context, const char* fmt, va_list args);

}
