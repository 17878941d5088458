// libFuzzer entry for the "cm" target: the kernel unpacker's decoder and x86 branch filter.
// Built only by `make fuzz` (build/fuzz/cm); the body is fuzz_cm() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_cm(data, size);
}
