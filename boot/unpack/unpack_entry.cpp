// The unpacker's call into the shared LZMA decoder (boot/unpack/unpack.asm), with C linkage
// so the assembly can name it. Built freestanding without SSE, for this stub only.
//
// The packed kernel is a raw LZMA1 stream of the kernel image after liblzma's x86 BCJ
// filter (scripts/pack-kernel): decode it, then undo the filter in place. The decoder's
// probability model (about 28 KiB) lives on the stack that unpack.asm sets up.
#include "kernel_lib/codec/lzma.h"

// Returns the unpacked size, or a negative kl::lzma_* status.
extern "C" i64 unpack_entry(const u8* packed, usize packed_size, u8 properties_byte, u8* out, usize out_capacity)
{
    kl::LzmaProperties properties;
    if (!kl::lzma_properties_from_byte(properties_byte, properties))
        return kl::lzma_bad_properties;
    i64 size = kl::lzma_decode_raw(packed, packed_size, properties, out, out_capacity);
    if (size < 0)
        return size;
    kl::x86_bcj_decode(out, static_cast<usize>(size));
    return size;
}
