// MODE=serve: the OpenAI-compatible HTTP API on the network card (make serve).
//
// Only the serve kernel (build/kernel-serve.bin) has the network: its run_server is
// tinyllama/serve/serve_mode.kernel.cpp. The kernel `make run` boots has none and keeps
// a weak stand-in (kmain.kernel.cpp) that says which kernel to build.
#pragma once

#include "tinyllama/kernel_app/boot_settings.h"
#include "tinyllama/kernel_app/story.h"

namespace tllama {

[[noreturn]] void run_server(Engine& engine, const BootSettings& settings);

}
