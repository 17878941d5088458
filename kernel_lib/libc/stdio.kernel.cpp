// The kernel's C stdio.h symbols: the formatter (kernel_lib/libc/format.h) and stream
// calls that all end in kl::write (kernel_lib/io/print.h: serial and VGA). stdout and
// stderr are the same console; they exist so that code written for C (asmjit's error
// path: fputs(message, stderr)) works unchanged.
#include <stdio.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/libc/format.h"
#include "kernel_lib/libc/kstring.h"

struct bareflow_file {
    int unused;
};

namespace {

bareflow_file console;

void console_sink(void*, const char* bytes, size_t length) { kl::write(bytes, length); }

}

extern "C" {

FILE* stdout = &console;
FILE* stderr = &console;

int vsnprintf(char* buffer, size_t size, const char* fmt, va_list args) { return kl::vsnprintf(buffer, size, fmt, args); }

int snprintf(char* buffer, size_t size, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = kl::vsnprintf(buffer, size, fmt, args);
    va_end(args);
    return n;
}

int vfprintf(FILE*, const char* fmt, va_list args) { return kl::vformat(console_sink, nullptr, fmt, args); }
int vprintf(const char* fmt, va_list args) { return kl::vformat(console_sink, nullptr, fmt, args); }

int fprintf(FILE*, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = kl::vformat(console_sink, nullptr, fmt, args);
    va_end(args);
    return n;
}

int printf(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = kl::vformat(console_sink, nullptr, fmt, args);
    va_end(args);
    return n;
}

int fputs(const char* s, FILE*)
{
    kl::write(s, kl::strlen(s));
    return 0;
}

int puts(const char* s)
{
    kl::write(s, kl::strlen(s));
    kl::write("\n", 1);
    return 0;
}

int fputc(int c, FILE*)
{
    char byte = static_cast<char>(c);
    kl::write(&byte, 1);
    return static_cast<unsigned char>(c);
}

int putc(int c, FILE* stream) { return fputc(c, stream); }
int putchar(int c) { return fputc(c, stdout); }

size_t fwrite(const void* data, size_t size, size_t count, FILE*)
{
    kl::write(static_cast<const char*>(data), size * count);
    return count;
}

// Nothing is buffered on this side of kl::write.
int fflush(FILE*) { return 0; }

}
