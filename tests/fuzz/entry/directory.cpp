// libFuzzer entry for the "directory" target: kl::boot::validate_directory on a payload directory sector.
// Built only by `make fuzz` (build/fuzz/directory); the body is fuzz_directory() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_directory(data, size);
}
