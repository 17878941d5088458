// Error construction and the code-name table (shared by kernel and host builds).
#include "kernel_lib/base/error.h"

#include <stdarg.h>
#include <stdio.h>

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

const char* error_code_name(ErrorCode code)
{
    switch (code) {
#define KL_ERROR_NAME(name, number, text) \
    case ErrorCode::name:                 \
        return text;
        KL_ERROR_CODES(KL_ERROR_NAME)
#undef KL_ERROR_NAME
    }
    return "unknown";
}

}
