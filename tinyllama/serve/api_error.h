// ApiError: an HTTP status with an OpenAI-style error body
// ({"error": {"message", "type", "param", "code"}}), built where a request goes wrong and
// written by the server (tinyllama/serve/responses.h).
#pragma once

#include "kernel_lib/base/types.h"

namespace tllama::serve {

struct ApiError {
    int status = 0;            // 0: no error
    const char* type = "";     // "invalid_request_error", "authentication_error", "server_error", ...
    const char* param = nullptr;  // the request field at fault, if one is
    const char* code = nullptr;   // a machine-readable code ("invalid_api_key"), if any
    char message[256] = {};

    bool failed() const { return status != 0; }
    static ApiError make(int status, const char* type, const char* param, const char* fmt, ...)
        __attribute__((format(printf, 4, 5)));
};

}
