// Host implementation of the fatal paths and error reports: message on stderr (with the
// same `@error` line as the kernel, for scripts), exit with the code's status.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel_lib/base/error.h"
#include "kernel_lib/debug/report.h"
#include "kernel_lib/text/json.h"

namespace kl {

void report_error(ErrorCode code, const char* message)
{
    char escaped[Error::max_message * 6 + 1];
    json_escape(message, escaped, sizeof(escaped));
    fprintf(stderr, "error (%s): %s\n@error {\"code\": \"%s\", \"number\": %d, \"message\": \"%s\"}\n",
        error_code_name(code), message, error_code_name(code), static_cast<int>(code), escaped);
}

void fail(const Error& error)
{
    report_error(error.code(), error.message());
    fflush(stderr);
    exit(error.exit_status());
}

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
