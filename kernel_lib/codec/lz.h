// A small LZ77 coder for the kernel unpacker's own code (boot/unpack/): the stub's entry
// decodes the rest of the stub with it before the context-mixing decoder (cm.h) can run,
// so the decoder is a few dozen instructions of assembly (lz_decode.asm, which describes
// the stream) and the work is in the encoder, which picks the cheapest parse in bits
// (lz.host.cpp, host only: pack-kernel). On the unpacker it saves about a quarter of its
// bytes; the kernel image itself goes through cm.h, which packs far tighter.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

// Decodes into [out, out_end); returns the first byte after the stream. Never writes or
// reads back outside [out, out_end), whatever the stream holds (lz_decode.asm).
extern "C" u8* lz_decode(u8* out, const u8* in, u8* out_end);

// The stream for `size` bytes at `in` with the fewest bits this format allows: lz_decode
// restores them exactly. At most 2 * size + 16 bytes.
usize lz_encoded_capacity(usize size);
usize lz_encode(const u8* in, usize size, u8* out);

}
