// pack-kernel: builds kernel.bin, the unpacker stub (boot/unpack/) followed by the kernel
// image after the x86 branch filter and context-mixing compression (kernel_lib/codec/).
//
// usage: pack-kernel [--stage2-limit] UNPACK.bin UNPACK-BODY.bin KERNEL.raw OUT.bin
//        pack-kernel --measure FILE...   (the packed size of each file, for make size)
//        pack-kernel --stub-size UNPACK.bin UNPACK-BODY.bin   (the stub's bytes in kernel.bin)
//
// The stub is its entry, stored as it is, and its body, LZ-compressed (kernel_lib/codec/lz.h),
// which the entry restores first. The entry carries a header at offset 8 that this tool fills
// in (boot/unpack/unpack.asm): "BFUNPK4\0", the packed size, the unpacked size, the codec's
// bucket count, the CRC-32C of the kernel image, the packed body's size and the body's
// CRC-32C. The bucket count is as large as the unpacker's scratch memory allows: everything
// between the unpacked kernel and the payload area at 8 MiB. Body and kernel are decoded again
// here (the body with the unpacker's own decoder) and compared, so an image that would not
// unpack is never written. The kernel `make run` boots must stay within 128 KiB;
// --stage2-limit packs the serve and developer kernels, which only have to fit the area stage2
// copies the stub into.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <thread>
#include <vector>

#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/codec/cm.h"
#include "kernel_lib/codec/crc32c.h"
#include "kernel_lib/codec/lz.h"
#include "kernel_lib/codec/x86_filter.h"

namespace {

constexpr usize header_offset = 8;
constexpr char header_magic[8] = { 'B', 'F', 'U', 'N', 'P', 'K', '4', '\0' };
constexpr usize header_size = 32;
constexpr usize size_limit = 128 * 1024;  // the shipped kernel's budget (make size)
constexpr usize copy_limit = kl::boot::unpack_area_end - kl::boot::unpack_address;

[[noreturn]] void die(const std::string& message)
{
    fprintf(stderr, "pack-kernel: %s\n", message.c_str());
    exit(1);
}

std::vector<u8> read_file(const char* path)
{
    FILE* f = fopen(path, "rb");
    if (!f)
        die(std::string("cannot open ") + path);
    std::vector<u8> data;
    u8 buffer[1 << 16];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
        data.insert(data.end(), buffer, buffer + n);
    fclose(f);
    return data;
}

void put_u32(std::vector<u8>& data, usize offset, u32 value)
{
    for (usize k = 0; k < 4; ++k)
        data[offset + k] = static_cast<u8>(value >> (8 * k));
}

// The buckets the unpacker can give the codec for a kernel of `size` bytes: its scratch
// memory runs from the page after the unpacked kernel to the payload area.
u32 bucket_count_for(usize size)
{
    u64 scratch_start = kl::align_up<u64>(kl::boot::kernel_load_address + size, 4096);
    if (scratch_start >= kl::boot::payload_base)
        return 0;
    return kl::cm_bucket_count_for(kl::boot::payload_base - scratch_start);
}

struct Packed {
    std::vector<u8> bytes;
    u32 bucket_count;
};

Packed pack(const std::vector<u8>& kernel)
{
    u32 buckets = bucket_count_for(kernel.size());
    if (buckets == 0)
        die("the kernel image (" + std::to_string(kernel.size()) + " bytes) leaves the unpacker too little memory "
            "below the payload area for the codec's tables");
    std::vector<u8> filtered = kernel;
    kl::x86_filter_encode(filtered.data(), filtered.size());
    std::vector<u8> scratch(kl::cm_scratch_bytes(buckets));
    std::vector<u8> packed(kernel.size() + kernel.size() / 8 + 64);
    i64 size = kl::cm_encode(filtered.data(), filtered.size(), packed.data(), packed.size(), buckets, scratch.data(),
        scratch.size());
    if (size < 0)
        die("the codec could not pack the kernel (status " + std::to_string(size) + ")");
    packed.resize(static_cast<usize>(size));
    return { packed, buckets };
}

// Unpacks as the stub will and compares.
void check_round_trip(const Packed& packed, const std::vector<u8>& kernel)
{
    std::vector<u8> scratch(kl::cm_scratch_bytes(packed.bucket_count));
    std::vector<u8> out(kernel.size());
    i64 size = kl::cm_decode(packed.bytes.data(), packed.bytes.size(), out.data(), out.size(), packed.bucket_count,
        scratch.data(), scratch.size());
    kl::x86_filter_decode(out.data(), out.size());
    if (size != static_cast<i64>(kernel.size()) || out != kernel)
        die("the packed kernel does not unpack to the kernel image (codec status " + std::to_string(size) + ")");
}

// The stub's body, LZ-compressed, after checking that the unpacker's decoder restores it.
std::vector<u8> pack_body(const std::vector<u8>& body)
{
    std::vector<u8> packed(kl::lz_encoded_capacity(body.size()));
    packed.resize(kl::lz_encode(body.data(), body.size(), packed.data()));
    std::vector<u8> restored(body.size());
    // Zeros after the stream, as the decoder's contract wants for damaged ones: this one must
    // end exactly where the encoder ended it.
    std::vector<u8> padded = packed;
    padded.resize(packed.size() + 2 * body.size() + 64, 0);
    const u8* end = kl::lz_decode(restored.data(), padded.data(), restored.data() + restored.size());
    if (restored != body || end != padded.data() + packed.size())
        die("the unpacker's body does not restore from its LZ stream");
    return packed;
}

// --measure: each file's packed size, two at a time (make size packs the kernel once per
// part it reports).
int measure(int count, char** paths)
{
    std::vector<usize> sizes(static_cast<usize>(count));
    std::vector<std::vector<u8>> inputs;
    for (int i = 0; i < count; ++i)
        inputs.push_back(read_file(paths[i]));
    auto work = [&](int first) {
        for (int i = first; i < count; i += 2)
            sizes[static_cast<usize>(i)] = pack(inputs[static_cast<usize>(i)]).bytes.size();
    };
    std::thread other(work, 1);
    work(0);
    other.join();
    for (int i = 0; i < count; ++i)
        printf("%zu %s\n", sizes[static_cast<usize>(i)], paths[i]);
    return 0;
}

// The stub as kernel.bin holds it: the entry, then the packed body.
std::vector<u8> read_stub(const char* entry_path, const char* body_path)
{
    std::vector<u8> stub = read_file(entry_path);
    if (stub.size() < header_offset + header_size || memcmp(stub.data() + header_offset, header_magic, 8) != 0)
        die(std::string(entry_path) + " has no BFUNPK4 header at offset 8");
    const std::vector<u8> body = read_file(body_path);
    const std::vector<u8> packed = pack_body(body);
    put_u32(stub, header_offset + 24, static_cast<u32>(packed.size()));
    put_u32(stub, header_offset + 28, kl::crc32c(body.data(), body.size()));
    stub.insert(stub.end(), packed.begin(), packed.end());
    return stub;
}

}

int main(int argc, char** argv)
{
    if (argc >= 2 && strcmp(argv[1], "--measure") == 0)
        return measure(argc - 2, argv + 2);
    if (argc == 4 && strcmp(argv[1], "--stub-size") == 0) {
        printf("%zu\n", read_stub(argv[2], argv[3]).size());
        return 0;
    }
    const bool stage2_limit_only = argc >= 2 && strcmp(argv[1], "--stage2-limit") == 0;
    if (argc - stage2_limit_only != 5)
        die("usage: pack-kernel [--stage2-limit] UNPACK.bin UNPACK-BODY.bin KERNEL.raw OUT.bin | --measure FILE... "
            "| --stub-size UNPACK.bin UNPACK-BODY.bin");
    const char* kernel_path = argv[3 + stage2_limit_only];
    const char* out_path = argv[4 + stage2_limit_only];
    std::vector<u8> stub = read_stub(argv[1 + stage2_limit_only], argv[2 + stage2_limit_only]);
    std::vector<u8> kernel = read_file(kernel_path);

    Packed packed = pack(kernel);
    check_round_trip(packed, kernel);
    put_u32(stub, header_offset + 8, static_cast<u32>(packed.bytes.size()));
    put_u32(stub, header_offset + 12, static_cast<u32>(kernel.size()));
    put_u32(stub, header_offset + 16, packed.bucket_count);
    put_u32(stub, header_offset + 20, kl::crc32c(kernel.data(), kernel.size()));

    usize total = stub.size() + packed.bytes.size();
    if (total > size_limit && !stage2_limit_only)
        die("kernel.bin would be " + std::to_string(total) + " bytes, over the " + std::to_string(size_limit)
            + "-byte (128 KiB) limit; `make size` shows each part's packed share");
    if (total > copy_limit)
        die("stub + packed kernel = " + std::to_string(total) + " bytes, more than the " + std::to_string(copy_limit)
            + " the unpacker can copy below 1 MiB");
    FILE* f = fopen(out_path, "wb");
    if (!f || fwrite(stub.data(), 1, stub.size(), f) != stub.size()
        || fwrite(packed.bytes.data(), 1, packed.bytes.size(), f) != packed.bytes.size() || fclose(f) != 0)
        die(std::string("cannot write ") + out_path);
    return 0;
}
