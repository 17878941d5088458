// libFuzzer entry for the "q8_header" target: the 256-byte Q8 header, with a body of the size it implies.
// Built only by `make fuzz` (build/fuzz/q8_header); the body is fuzz_q8_header() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_q8_header(data, size);
}
