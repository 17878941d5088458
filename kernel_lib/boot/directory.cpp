// Payload directory validation (see directory.h).
//
// The checks run header first, then entry by entry in directory order, so the message
// names the first fault stage2 (or the kernel's payload lookup) would trip over. All sector
// and address arithmetic is 64-bit and overflow-checked: the fields are untrusted bytes.
#include "kernel_lib/boot/directory.h"

#include <string.h>

#include "kernel_lib/base/unaligned.h"
#include "kernel_lib/codec/crc32c.h"

namespace kl::boot {

namespace {

constexpr u64 four_gib = 4 * GiB;

struct Entry {
    char name[payload_name_bytes];  // NUL-terminated once validated
    u64 lba;
    u64 size;
    u64 end_lba;                    // lba + sectors of size
};

// A name is 1..15 printable ASCII characters followed only by NULs (the kernel's lookup
// compares at most 15 characters plus the terminator, so a 16-character name is unreachable).
ErrorOr<void> check_name(const u8* raw, u32 index)
{
    u32 length = 0;
    while (length < payload_name_bytes && raw[length] != 0)
        ++length;
    if (length == 0)
        return Error::make(ErrorCode::BootDirectory, "payload directory entry %u has an empty name", index);
    if (length == payload_name_bytes)
        return Error::make(ErrorCode::BootDirectory,
            "payload directory entry %u: the name fills all %u bytes; names are at most %u characters and NUL-padded",
            index, payload_name_bytes, payload_name_bytes - 1);
    for (u32 i = 0; i < length; ++i) {
        if (raw[i] < 0x20 || raw[i] > 0x7E)
            return Error::make(ErrorCode::BootDirectory,
                "payload directory entry %u: name byte %u is 0x%02x, expected printable ASCII", index, i, raw[i]);
    }
    for (u32 i = length; i < payload_name_bytes; ++i) {
        if (raw[i] != 0)
            return Error::make(ErrorCode::BootDirectory,
                "payload directory entry %u ('%.*s'): byte %u after the name is 0x%02x, expected NUL padding", index,
                static_cast<int>(length), reinterpret_cast<const char*>(raw), i, raw[i]);
    }
    return {};
}

ErrorOr<void> check_header(const u8* sector, u64 image_sectors, u64 directory_lba)
{
    if (memcmp(sector, directory_magic, sizeof(directory_magic)) != 0)
        return Error::make(ErrorCode::BootDirectory,
            "payload directory: magic is %02x %02x %02x %02x %02x %02x %02x %02x, expected \"BFPAYDIR\" "
            "(not a BareFlow image, or the directory sector is misplaced)",
            sector[0], sector[1], sector[2], sector[3], sector[4], sector[5], sector[6], sector[7]);
    const u32 version = read_u32(sector + offsetof(DirectoryHeader, version));
    if (version != directory_version)
        return Error::make(ErrorCode::BootDirectory, "payload directory: version is %u, expected %u (rebuild the image)",
            version, directory_version);
    const u32 count = read_u32(sector + offsetof(DirectoryHeader, entry_count));
    if (count == 0 || count > directory_max_entries)
        return Error::make(ErrorCode::BootDirectory, "payload directory: %u entries, expected 1..%u", count,
            directory_max_entries);

    // The CRC covers the whole sector with its own field read as zero.
    u8 copy[sector_size];
    memcpy(copy, sector, sector_size);
    memset(copy + offsetof(DirectoryHeader, crc32), 0, sizeof(u32));
    const u32 stored = read_u32(sector + offsetof(DirectoryHeader, crc32));
    const u32 computed = crc32c(copy, sector_size);
    if (stored != computed)
        return Error::make(ErrorCode::BootDirectory,
            "payload directory checksum mismatch: stored 0x%08x, computed 0x%08x (the directory sector is damaged)",
            stored, computed);

    const u64 header_sectors = read_u32(sector + offsetof(DirectoryHeader, image_sectors));
    if (header_sectors <= directory_lba || header_sectors > image_sectors)
        return Error::make(ErrorCode::BootDirectory,
            "payload directory: the image is %llu sectors but the directory (at sector %llu) says %llu%s",
            static_cast<unsigned long long>(image_sectors), static_cast<unsigned long long>(directory_lba),
            static_cast<unsigned long long>(header_sectors),
            header_sectors > image_sectors ? " (truncated image?)" : ", which leaves no room for payloads");
    return {};
}

ErrorOr<void> check_entry(const Entry& e, u32 index, u64 first_payload_lba, u64 header_sectors)
{
    if (index == 0 && strcmp(e.name, "kernel") != 0)
        return Error::make(ErrorCode::BootDirectory, "payload directory entry 0 is '%s'; it must be the kernel", e.name);
    if (index == 0 && e.size > kernel_max_bytes)
        return Error::make(ErrorCode::BootKernel, "payload directory: the kernel is %llu bytes; at most %llu fit its slot",
            static_cast<unsigned long long>(e.size), static_cast<unsigned long long>(kernel_max_bytes));
    if (e.size >= four_gib)
        return Error::make(ErrorCode::BootMemory,
            "payload directory entry %u ('%s') is %llu bytes; payloads must be below 4 GiB (stage2 loads in unreal mode)",
            index, e.name, static_cast<unsigned long long>(e.size));
    if (e.lba < first_payload_lba || e.end_lba > header_sectors)
        return Error::make(ErrorCode::BootDirectory,
            "payload directory entry %u ('%s'): sectors %llu..%llu lie outside the payload area %llu..%llu of the image",
            index, e.name, static_cast<unsigned long long>(e.lba), static_cast<unsigned long long>(e.end_lba),
            static_cast<unsigned long long>(first_payload_lba), static_cast<unsigned long long>(header_sectors));
    return {};
}

}

ErrorOr<DirectorySummary> validate_directory(const u8* sector, u64 image_sectors, u64 directory_lba)
{
    TRY(check_header(sector, image_sectors, directory_lba));
    const u32 count = read_u32(sector + offsetof(DirectoryHeader, entry_count));
    const u64 header_sectors = read_u32(sector + offsetof(DirectoryHeader, image_sectors));

    Entry entries[directory_max_entries];
    DirectorySummary summary { count, directory_lba + 1, payload_base };
    u64 cursor = payload_base;  // stage2's placement of payloads 1.. (plan_payloads)
    u64 total_bytes = 0;
    for (u32 i = 0; i < count; ++i) {
        const u8* raw = sector + sizeof(DirectoryHeader) + i * sizeof(DirectoryEntry);
        TRY(check_name(raw + offsetof(DirectoryEntry, name), i));
        Entry& e = entries[i];
        memcpy(e.name, raw + offsetof(DirectoryEntry, name), payload_name_bytes);
        e.lba = read_u64(raw + offsetof(DirectoryEntry, lba));
        e.size = read_u64(raw + offsetof(DirectoryEntry, size));
        // Sizes of 4 GiB and more are refused below, before end_lba is trusted; this only
        // keeps the sum from wrapping.
        if (!checked_add(e.lba, (e.size + sector_size - 1) / sector_size, e.end_lba))
            e.end_lba = ~0ull;
        TRY(check_entry(e, i, directory_lba + 1, header_sectors));

        for (u32 j = 0; j < i; ++j) {
            const Entry& o = entries[j];
            if (strcmp(o.name, e.name) == 0)
                return Error::make(ErrorCode::BootDirectory,
                    "payload directory entries %u and %u are both named '%s'; the kernel would only ever find the first",
                    j, i, e.name);
            // Empty payloads occupy no sector and overlap nothing.
            if (e.lba < o.end_lba && o.lba < e.end_lba)
                return Error::make(ErrorCode::BootDirectory,
                    "payload directory entries %u ('%s', sectors %llu..%llu) and %u ('%s', sectors %llu..%llu) overlap", j,
                    o.name, static_cast<unsigned long long>(o.lba), static_cast<unsigned long long>(o.end_lba), i, e.name,
                    static_cast<unsigned long long>(e.lba), static_cast<unsigned long long>(e.end_lba));
        }
        summary.end_lba = max(summary.end_lba, e.end_lba);

        // Stage2 sums every size (kernel included) and places payloads 1.. at 2 MiB
        // boundaries from payload_base, all in 32-bit registers: nothing may reach 4 GiB.
        total_bytes += e.size;
        if (i > 0) {
            const u64 address = align_up(cursor, payload_align);
            cursor = address + e.size;
        }
        if (cursor >= four_gib || total_bytes >= four_gib)
            return Error::make(ErrorCode::BootMemory,
                "payload directory entry %u ('%s', %llu bytes): the payloads would end at %llu MiB (%llu MiB in all), "
                "but stage2 loads everything below 4 GiB",
                i, e.name, static_cast<unsigned long long>(e.size), static_cast<unsigned long long>(cursor / MiB),
                static_cast<unsigned long long>(total_bytes / MiB));
    }
    summary.load_end = cursor;
    return summary;
}

}
