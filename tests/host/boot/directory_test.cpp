// kl::boot::validate_directory: a directory laid out as mkimage lays it out is accepted, and
// each rule stage2 (or the kernel's payload lookup) depends on is refused with its code.
#include <catch2/catch.hpp>
#include <string.h>

#include <string>
#include <utility>
#include <vector>

#include "kernel_lib/boot/directory.h"
#include "kernel_lib/codec/crc32c.h"

using namespace kl::boot;

namespace {

constexpr u64 directory_lba = 9;

struct Directory {
    u8 sector[512] = {};
    u64 image_sectors = 0;

    u8* entry(u32 i) { return sector + 32 + 40 * i; }
    void set_u32(u32 offset, u32 v) { memcpy(sector + offset, &v, 4); }
    void set_u64(u8* p, u64 v) { memcpy(p, &v, 8); }
    void reseal()
    {
        set_u32(16, 0);
        set_u32(16, kl::crc32c(sector, 512));
    }
};

// Payloads back to back after the directory, each on a sector boundary (mkimage's layout).
Directory make_directory(const std::vector<std::pair<std::string, u64>>& payloads)
{
    Directory d;
    memcpy(d.sector, "BFPAYDIR", 8);
    d.set_u32(8, 1);
    d.set_u32(12, static_cast<u32>(payloads.size()));
    u64 lba = directory_lba + 1;
    for (u32 i = 0; i < payloads.size(); ++i) {
        memcpy(d.entry(i), payloads[i].first.data(), payloads[i].first.size());
        d.set_u64(d.entry(i) + 16, lba);
        d.set_u64(d.entry(i) + 24, payloads[i].second);
        lba += (payloads[i].second + 511) / 512;
    }
    d.image_sectors = lba;
    d.set_u32(20, static_cast<u32>(lba));
    d.reseal();
    return d;
}

Directory typical()
{
    return make_directory({ { "kernel", 225584 }, { "settings", 95 }, { "ksyms", 75230 }, { "tokenizer", 6227 },
        { "profile", 0 }, { "model", 1056540 } });
}

std::string refusal(const Directory& d, kl::ErrorCode expected_code)
{
    auto result = validate_directory(d.sector, d.image_sectors, directory_lba);
    REQUIRE(result.is_error());
    CHECK(result.error().code() == expected_code);
    return result.error().message();
}

}

TEST_CASE("a directory laid out as mkimage does is accepted", "[boot]")
{
    Directory d = typical();
    auto result = validate_directory(d.sector, d.image_sectors, directory_lba);
    INFO((result.is_error() ? result.error().message() : ""));
    REQUIRE(!result.is_error());
    CHECK(result.value().entry_count == 6);
    CHECK(result.value().end_lba == d.image_sectors);
    // As stage2 places them: settings at 8 MiB, ksyms 10, tokenizer 12, the empty profile at
    // 14 MiB, which it does not move on from, so the model starts at 14 MiB as well.
    CHECK(result.value().load_end == 14 * kl::MiB + 1056540);
    // The image may be longer than the directory says (a disk larger than the image).
    CHECK(!validate_directory(d.sector, d.image_sectors + 1000, directory_lba).is_error());
}

TEST_CASE("directory header faults are refused", "[boot]")
{
    Directory d = typical();
    d.sector[3] = 'X';
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("magic"));
    d = typical();
    d.set_u32(8, 2);
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("version is 2"));
    d = typical();
    d.set_u32(12, 13);
    d.reseal();
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("13 entries"));
    d = typical();
    d.sector[200] ^= 1;  // any bit, without resealing
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("checksum mismatch"));
    d = typical();
    d.image_sectors -= 1;  // the image is shorter than the directory says
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("truncated image"));
}

TEST_CASE("directory entry faults are refused", "[boot]")
{
    Directory d = make_directory({ { "kernel2", 1000 }, { "model", 10 } });
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("entry 0 is 'kernel2'"));
    d = make_directory({ { "kernel", kernel_max_bytes + 1 } });
    CHECK_THAT(refusal(d, kl::ErrorCode::BootKernel), Catch::Contains("at most"));
    d = make_directory({ { "kernel", 1000 }, { "model", 10 }, { "model", 20 } });
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("both named 'model'"));
    d = make_directory({ { "kernel", 1000 }, { "bad\x01name", 10 } });
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("printable"));
    d = make_directory({ { "kernel", 1000 }, { "model", 10 } });
    d.entry(1)[10] = 'x';  // garbage after the name's NUL
    d.reseal();
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("NUL padding"));
    d = make_directory({ { "kernel", 1000 }, { "0123456789abcdef", 10 } });
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("fills all 16 bytes"));
}

TEST_CASE("payloads outside the image, overlapping or past 4 GiB are refused", "[boot]")
{
    Directory d = make_directory({ { "kernel", 1000 }, { "model", 5000 } });
    d.set_u64(d.entry(1) + 16, directory_lba);  // over the directory itself
    d.reseal();
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("outside the payload area"));
    d = make_directory({ { "kernel", 1000 }, { "model", 5000 } });
    d.set_u64(d.entry(1) + 24, 5000 + 512);  // one sector past the image's end
    d.reseal();
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("outside the payload area"));
    d = make_directory({ { "kernel", 1000 }, { "a", 5000 }, { "b", 5000 } });
    d.set_u64(d.entry(2) + 16, directory_lba + 1 + 2 + 5);  // inside "a"
    d.reseal();
    CHECK_THAT(refusal(d, kl::ErrorCode::BootDirectory), Catch::Contains("overlap"));
    d = make_directory({ { "kernel", 1000 }, { "model", 1ull << 32 } });
    CHECK_THAT(refusal(d, kl::ErrorCode::BootMemory), Catch::Contains("below 4 GiB"));
    // Two payloads of 2.5 GiB each fit the 32-bit size field but not stage2's placement.
    d = make_directory({ { "kernel", 1000 }, { "a", 2560 * kl::MiB }, { "b", 2560 * kl::MiB } });
    CHECK_THAT(refusal(d, kl::ErrorCode::BootMemory), Catch::Contains("stage2 loads everything below 4 GiB"));
}
