// The unpacker's call into the shared decoder (boot/unpack/unpack.asm), with C linkage so
// the assembly can name it. Built freestanding without SSE, for this stub only.
//
// The packed kernel is the kernel image after the x86 branch filter, compressed by the
// context-mixing codec (boot/tools/pack-kernel.main.cpp): decode it, undo the filter in
// place, and check the image's CRC-32C. The codec's tables (a few MiB) go in the free
// memory between the unpacked kernel and the payload area; its stack use is small.
#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/codec/cm.h"
#include "kernel_lib/codec/x86_filter.h"

namespace {

// CRC-32C bit by bit (the same polynomial as kernel_lib/codec/crc32c.h, whose table
// version would cost the stub 8 KiB of zeros).
u32 crc32c_bitwise(const u8* data, usize size)
{
    u32 crc = ~0u;
    for (usize i = 0; i < size; ++i) {
        crc ^= data[i];
        for (u32 k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

constexpr i64 crc_mismatch = -100;  // beside the codec's kl::cm_* statuses

}

// Returns 0 when the kernel image is in place, else a negative status.
extern "C" i64 unpack_entry(const u8* packed, usize packed_size, u8* out, usize size, u32 bucket_count, u32 crc)
{
    u64 scratch = kl::align_up<u64>(reinterpret_cast<u64>(out) + size, 4096);
    if (scratch >= kl::boot::payload_base)
        return kl::cm_bad_tables;
    i64 status = kl::cm_decode(packed, packed_size, out, size, bucket_count, reinterpret_cast<void*>(scratch),
        kl::boot::payload_base - scratch);
    if (status < 0)
        return status;
    kl::x86_filter_decode(out, size);
    return crc32c_bitwise(out, size) == crc ? 0 : crc_mismatch;
}
