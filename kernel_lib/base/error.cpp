// Error construction and the code-name table (shared by kernel and host builds).
#include "kernel_lib/base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

namespace kl {

Error Error::make(ErrorCode code, const char* fmt, ...)
{
    Error error;
    error.m_code = code;
    va_list args;
    va_start(args, fmt);
    vsnprintf(error.m_message, sizeof(error.m_message), fmt, args);
    va_end(args);
    return error;
}

// A table, not a switch: the kernel is built without jump tables, and the switch's chain of
// compares took 820 bytes.
const char* error_code_name(ErrorCode code)
{
    // The numbers in the list's order, and the names one after the other, each ended by NUL.
    static constexpr u8 numbers[] = {
#define KL_ERROR_NUMBER(name, number, text) number,
        KL_ERROR_CODES(KL_ERROR_NUMBER)
#undef KL_ERROR_NUMBER
    };
    static constexpr char names[] =
#define KL_ERROR_TEXT(name, number, text) text "\0"
        KL_ERROR_CODES(KL_ERROR_TEXT)
#undef KL_ERROR_TEXT
        ;
    const char* name = names;
    for (u8 number : numbers) {
        if (number == static_cast<u8>(code))
            return name;
        name += strlen(name) + 1;
    }
    return "unknown";
}

}
