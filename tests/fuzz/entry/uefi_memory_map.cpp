// libFuzzer entry for the "uefi_memory_map" target (tests/fuzz/targets/uefi_targets.cpp).
// Built only by `make fuzz` (build/fuzz/uefi_memory_map); the body is fuzz_uefi_memory_map().
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_uefi_memory_map(data, size);
}
