// libFuzzer entry for the "lzma" target: the kernel unpacker's LZMA1 decoder and x86 BCJ filter.
// Built only by `make fuzz` (build/fuzz/lzma); the body is fuzz_lzma() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_lzma(data, size);
}
