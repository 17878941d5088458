// libFuzzer entry for the "encode" target: tllama::encode with the real tokenizers (tok512.bin, tokenizer.bin).
// Built only by `make fuzz` (build/fuzz/encode); the body is fuzz_encode() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_encode(data, size);
}
