// libFuzzer entry for the "model" target: tllama::parse_checkpoint on arbitrary bytes (fp32 legacy and Q8 v2 files).
// Built only by `make fuzz` (build/fuzz/model); the body is fuzz_model() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_model(data, size);
}
