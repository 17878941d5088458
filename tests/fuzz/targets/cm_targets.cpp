// Fuzz target body for the kernel unpacker's decoder (kernel_lib/codec/cm.h) and x86
// branch filter (kernel_lib/codec/x86_filter.h).
//
// fuzz_cm: bytes [0, 2) are the output size (u16, little endian, modulo 4096: larger
// outputs only make each run slower), the rest the packed stream. Whatever the bytes, the decoder must return the output size or one of its
// statuses and never read or write outside its buffers (ASan watches the exact-size
// copies made here). Output it accepts must pack again into a stream of the same length
// that decodes to the same bytes, and the filter must be a bijection on it:
// encode(decode(x)) == x.
#include <string.h>

#include <vector>

#include "kernel_lib/codec/cm.h"
#include "kernel_lib/codec/x86_filter.h"
#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"

int fuzz_cm(const u8* data, size_t size)
{
    if (size < 2)
        return 0;
    const usize out_size = (static_cast<usize>(data[0]) | static_cast<usize>(data[1]) << 8) % 4096;
    const u32 buckets = kl::cm_min_bucket_count;
    std::vector<u8> scratch(kl::cm_scratch_bytes(buckets));
    std::vector<u8> in(data + 2, data + size);
    std::vector<u8> out(out_size);
    const i64 status = kl::cm_decode(in.data(), in.size(), out.data(), out.size(), buckets, scratch.data(), scratch.size());
    FUZZ_CHECK(status == static_cast<i64>(out_size) || status == kl::cm_truncated || status == kl::cm_trailing_bytes,
        "cm_decode returned %lld for an output of %zu bytes", static_cast<long long>(status), out_size);
    if (status < 0)
        return 0;

    // The encoder retraces the decoder's steps: it settles the same bytes and ends with
    // four, so the stream it writes is exactly as long as the one accepted (a bit can cost
    // up to 12 bits, so the decoded size does not bound it).
    std::vector<u8> packed(in.size() + 16);
    const i64 packed_size = kl::cm_encode(out.data(), out.size(), packed.data(), packed.size(), buckets, scratch.data(),
        scratch.size());
    FUZZ_CHECK(packed_size == static_cast<i64>(in.size()), "cm_encode wrote %lld bytes for %zu decoded bytes, not %zu",
        static_cast<long long>(packed_size), out_size, in.size());
    packed.resize(static_cast<usize>(packed_size));
    std::vector<u8> again(out_size);
    const i64 second = kl::cm_decode(packed.data(), packed.size(), again.data(), again.size(), buckets, scratch.data(),
        scratch.size());
    FUZZ_CHECK(second == status && again == out, "the decoded bytes did not survive cm_encode + cm_decode (%lld)",
        static_cast<long long>(second));

    kl::x86_filter_decode(again.data(), again.size());
    kl::x86_filter_encode(again.data(), again.size());
    FUZZ_CHECK(again == out, "x86_filter_encode did not invert x86_filter_decode on %zu bytes", out_size);
    return 0;
}
