// The payload directory's rules in C++: one validator that mkimage (as a self-check on the
// directory it just wrote), the host tests and the fuzzer share.
//
// Stage2 checks the directory in 16-bit assembly (boot/stage2/disk.asm: load_directory,
// plan_payloads). validate_directory() checks the same things, plus the ones stage2 takes on
// trust from mkimage (names, payloads inside the image and not overlapping), so that an
// image mkimage writes is known to pass stage2 before it ever boots. The error codes are the
// ones stage2 would report for the same fault (boot.directory, boot.kernel, boot.memory).
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/boot/bootinfo.h"

namespace kl::boot {

struct DirectorySummary {
    u32 entry_count;
    u64 end_lba;         // first sector after the last payload (<= the header's image_sectors)
    u64 load_end;        // physical address where stage2's placement of the payloads ends
};

// Validates the 512-byte directory `sector` read from sector `directory_lba` of an image
// that is `image_sectors` sectors long. Checks: magic "BFPAYDIR", version, 1..12 entries,
// CRC-32C of the sector with its crc32 field zeroed, the header's image_sectors within the
// image, entry 0 named "kernel" and small enough for its slot, every name 1..15 printable
// characters NUL-padded and unique, every payload after the directory, inside the image,
// not overlapping another one and below 4 GiB as stage2 places it (2 MiB aligned from
// payload_base). Errors name the entry, its fields and what was expected.
ErrorOr<DirectorySummary> validate_directory(const u8* sector, u64 image_sectors, u64 directory_lba);

}
