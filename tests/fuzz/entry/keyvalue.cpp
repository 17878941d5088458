// libFuzzer entry for the "keyvalue" target: kl::parse_key_values and kl::escape_value (round trip).
// Built only by `make fuzz` (build/fuzz/keyvalue); the body is fuzz_keyvalue() in tests/fuzz/targets/.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size)
{
    return fuzz_keyvalue(data, size);
}
