// Reporting failures in the kernel: the `@error` line plus a human message, then the exit.
#pragma once

#include "kernel_lib/base/error.h"

namespace kl {

// Prints the human message and the `@error {"code": ..., "number": ..., "message": ...}` line.
void report_error(ErrorCode code, const char* message);

// report_error, then machine::exit with the error's status. Does not return.
[[noreturn]] void fail(const Error& error);

}
