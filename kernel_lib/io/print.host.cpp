// Host console: kl::print goes to stderr (stdout carries only the generated text).
#include <stdio.h>

#include "kernel_lib/io/print.h"

namespace kl {

void vprint(const char* fmt, va_list args)
{
    vfprintf(stderr, fmt, args);
}

void print(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vprint(fmt, args);
    va_end(args);
}

void write(const char* bytes, unsigned long length)
{
    fwrite(bytes, 1, length, stderr);
}

}
