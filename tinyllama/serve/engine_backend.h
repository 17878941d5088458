// The kernel's Backend: the HTTP API's completions run on the kernel application's engine
// (tinyllama/engine.h). One small adapter, engine_backend.kernel.cpp.
#pragma once

#include "tinyllama/engine.h"
#include "tinyllama/serve/backend.h"

namespace tllama::serve {

// The backend for `engine` (which must outlive it), allocated once for the server's life.
Backend* new_engine_backend(Engine& engine);

}
