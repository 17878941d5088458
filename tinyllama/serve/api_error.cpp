// ApiError construction (see api_error.h).
#include "tinyllama/serve/api_error.h"

#include <stdarg.h>

#include "kernel_lib/libc/format.h"

namespace tllama::serve {

ApiError ApiError::make(int status, const char* type, const char* param, const char* fmt, ...)
{
    ApiError e;
    e.status = status;
    e.type = type;
    e.param = param;
    va_list args;
    va_start(args, fmt);
    kl::vsnprintf(e.message, sizeof(e.message), fmt, args);
    va_end(args);
    return e;
}

}
