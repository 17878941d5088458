// Host implementation of the fatal paths: message on stderr, exit with the code's status.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel_lib/base/error.h"

namespace kl {

void panic_with(ErrorCode code, const char* fmt, ...)
{
    char message[Error::max_message];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    fprintf(stderr, "fatal (%s): %s\n", error_code_name(code), message);
    fflush(stderr);
    exit(static_cast<int>(code));
}

void verify_failed(const char* expr, const char* file, int line)
{
    fprintf(stderr, "VERIFY(%s) failed at %s:%d\n", expr, file, line);
    fflush(stderr);
    abort();
}

}
