// libFuzzer entry for the "lz" target: the kernel unpacker's LZ decoder (its own body).
// Built only by `make fuzz` (build/fuzz/lz); the body is fuzz_lz() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_lz(data, size);
}
