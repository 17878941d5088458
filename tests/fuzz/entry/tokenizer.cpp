// libFuzzer entry for the "tokenizer" target: tllama::build_tokenizer with a fuzzed vocab_size and file.
// Built only by `make fuzz` (build/fuzz/tokenizer); the body is fuzz_tokenizer() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_tokenizer(data, size);
}
