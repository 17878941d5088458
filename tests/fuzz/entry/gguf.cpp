// libFuzzer entry for the "gguf" target: the GGUF reader, the llama mapping and the GGUF
// tokenizer on arbitrary bytes. Built only by `make fuzz` (build/fuzz/gguf); the body is
// fuzz_gguf() in tests/fuzz/targets/gguf_targets.cpp.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_gguf(data, size);
}
