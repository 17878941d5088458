// libFuzzer entry for the "settings" target: tllama::parse_boot_settings on an arbitrary settings payload.
// Built only by `make fuzz` (build/fuzz/settings); the body is fuzz_settings() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_settings(data, size);
}
