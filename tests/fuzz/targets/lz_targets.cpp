// Fuzz target body for the kernel unpacker's LZ decoder (kernel_lib/codec/lz.h), which
// restores the unpacker's own body from kernel.bin.
//
// fuzz_lz: bytes [0, 2) are the output size (u16, little endian, modulo 4096), the rest the
// stream, followed by the zeros the decoder's contract asks for. Whatever the bytes, the
// decoder must stop inside those zeros and write only its output (guard bytes around it;
// the decoder is assembly, which ASan does not see). Output of up to 256 bytes must encode
// again into a stream that restores it.
#include <vector>

#include "kernel_lib/codec/lz.h"
#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"

int fuzz_lz(const u8* data, size_t size)
{
    if (size < 2)
        return 0;
    const usize out_size = (static_cast<usize>(data[0]) | static_cast<usize>(data[1]) << 8) % 4096;
    std::vector<u8> in(data + 2, data + size);
    in.resize(in.size() + 2 * out_size + 64, 0);
    constexpr usize guard = 32;
    std::vector<u8> buffer(guard + out_size + guard, 0xA5);
    u8* out = buffer.data() + guard;
    const u8* end = kl::lz_decode(out, in.data(), out + out_size);
    FUZZ_CHECK(end >= in.data() && end <= in.data() + in.size(), "lz_decode ended %lld bytes into a %zu-byte stream",
        static_cast<long long>(end - in.data()), in.size());
    for (usize i = 0; i < guard; ++i)
        FUZZ_CHECK(buffer[i] == 0xA5 && buffer[guard + out_size + i] == 0xA5, "lz_decode wrote outside its output");
    if (out_size > 256)
        return 0;

    const std::vector<u8> decoded(out, out + out_size);
    std::vector<u8> stream(kl::lz_encoded_capacity(out_size) + 2 * out_size + 64, 0);
    const usize stream_size = kl::lz_encode(decoded.data(), decoded.size(), stream.data());
    std::vector<u8> again(out_size);
    const u8* again_end = kl::lz_decode(again.data(), stream.data(), again.data() + again.size());
    FUZZ_CHECK(again == decoded && again_end == stream.data() + stream_size,
        "lz_encode + lz_decode did not restore %zu bytes", out_size);
    return 0;
}
