// libFuzzer entry for the "serve" target (see tests/fuzz/targets/serve_targets.cpp).
// Built only by `make fuzz` (build/fuzz/serve); the body is fuzz_serve() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_serve(data, size);
}
