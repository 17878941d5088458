// libFuzzer entry for the "http" target (see tests/fuzz/targets/net_targets.cpp).
// Built only by `make fuzz` (build/fuzz/http); the body is fuzz_http() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_http(data, size);
}
