// The disk the loader was started from, read through the firmware's Block I/O by LBA.
//
// The firmware starts BOOTX64.EFI from the EFI system partition; the partition's device
// path minus its last node is the whole disk, whose Block I/O reads the payload directory
// and the payloads at the LBAs mkimage wrote, as stage2 reads them with INT 13h.
#pragma once

#include "boot/uefi/efi.h"
#include "kernel_lib/base/error.h"

namespace uefi {

struct BootDisk {
    efi::BlockIo* io;
    u64 sectors;  // 512-byte sectors on the disk
};

// Errors: boot.firmware (no device path or Block I/O), boot.disk_read (no medium, or blocks
// of another size than the image's 512 bytes).
kl::ErrorOr<BootDisk> open_boot_disk();

// Reads `count` sectors at `lba` into `buffer` (which meets the medium's alignment: the
// loader reads into whole pages). `what` names the payload (or "the payload directory").
kl::ErrorOr<void> read_sectors(const BootDisk& disk, u64 lba, u64 count, void* buffer, const char* what);

}
