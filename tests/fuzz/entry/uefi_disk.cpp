// libFuzzer entry for the "uefi_disk" target (tests/fuzz/targets/uefi_targets.cpp).
// Built only by `make fuzz` (build/fuzz/uefi_disk); the body is fuzz_uefi_disk().
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_uefi_disk(data, size);
}
