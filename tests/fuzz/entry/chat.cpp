// libFuzzer entry for the "chat" target: tllama::chat's template recognition and rendering.
// Built only by `make fuzz` (build/fuzz/chat); the body is fuzz_chat() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_chat(data, size);
}
