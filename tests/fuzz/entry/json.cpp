// libFuzzer entry for the "json" target (see tests/fuzz/targets/net_targets.cpp).
// Built only by `make fuzz` (build/fuzz/json); the body is fuzz_json() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_json(data, size);
}
