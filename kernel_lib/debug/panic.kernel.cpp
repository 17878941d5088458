// The kernel's fatal paths: an `@error` line (JSON) and a human message on serial and VGA,
// then `@exit N` through the QEMU exit device, or a halt on hardware.
#include <stdarg.h>
#include <stdio.h>

#include "kernel_lib/base/error.h"
#include "kernel_lib/io/machine.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/debug/report.h"
#include "kernel_lib/text/json.h"

namespace kl {

void report_error(ErrorCode code, const char* message)
{
    char escaped[Error::max_message * 6 + 1];
    json_escape(message, escaped, sizeof(escaped));
    vga::set_color(vga::LightRed);
    print("\nBareFlow error (%s): %s\n", error_code_name(code), message);
    vga::set_color(vga::LightGray);
    print("@error {\"code\": \"%s\", \"number\": %d, \"message\": \"%s\"}\n", error_code_name(code),
        static_cast<int>(code), escaped);
}

void fail(const Error& error)
{
    report_error(error.code(), error.message());
    machine::exit(error.exit_status());
}

void panic_with(ErrorCode code, const char* fmt, ...)
{
    char message[Error::max_message];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    report_error(code, message);
    machine::exit(static_cast<int>(code));
}

void verify_failed(const char* expr, const char* file, int line)
{
    panic_with(ErrorCode::InternalVerify, "VERIFY(%s) failed at %s:%d", expr, file, line);
}

}
