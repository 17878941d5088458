// Fuzz target body for the kernel unpacker's decoder (kernel_lib/codec/lzma.h).
//
// fuzz_lzma: byte 0 is the LZMA properties byte, bytes [1, 3) the output capacity (u16,
// little endian), the rest the raw LZMA1 stream. Whatever the bytes, the decoder must
// return a status or a byte count within the capacity, and never read or write outside
// its buffers (ASan watches the exact-size copies made here); a stream it accepts must
// decode the same way again into a buffer of exactly the returned size. The x86 BCJ
// decoder runs over the output too (in place, any bytes).
#include <string.h>

#include <vector>

#include "kernel_lib/codec/lzma.h"
#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"

int fuzz_lzma(const u8* data, size_t size)
{
    if (size < 3)
        return 0;
    kl::LzmaProperties properties {};
    if (!kl::lzma_properties_from_byte(data[0], properties))
        return 0;
    const usize capacity = static_cast<usize>(data[1]) | static_cast<usize>(data[2]) << 8;
    // Exact-size heap copies, so that any read or write past either end is caught.
    std::vector<u8> in(data + 3, data + size);
    std::vector<u8> out(capacity);
    const i64 written = kl::lzma_decode_raw(in.data(), in.size(), properties, out.data(), out.size());
    FUZZ_CHECK(written >= kl::lzma_bad_properties, "lzma_decode_raw returned the unknown status %lld",
        static_cast<long long>(written));
    FUZZ_CHECK(written <= static_cast<i64>(capacity), "lzma_decode_raw wrote %lld bytes into %zu",
        static_cast<long long>(written), capacity);
    if (written < 0)
        return 0;
    std::vector<u8> again(static_cast<usize>(written));
    const i64 second = kl::lzma_decode_raw(in.data(), in.size(), properties, again.data(), again.size());
    FUZZ_CHECK(second == written && memcmp(again.data(), out.data(), again.size()) == 0,
        "the same stream decoded differently into an exact-size buffer (%lld, then %lld bytes)",
        static_cast<long long>(written), static_cast<long long>(second));
    kl::x86_bcj_decode(again.data(), again.size());
    return 0;
}
