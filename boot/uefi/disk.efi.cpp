// The boot disk through Block I/O (see disk.efi.h).
#include "boot/uefi/disk.efi.h"

#include "boot/uefi/disk_layout.h"
#include "boot/uefi/firmware.efi.h"
#include "kernel_lib/boot/bootinfo.h"

namespace uefi {

using namespace kl;

namespace {

constexpr usize max_device_path_bytes = 4096;

}

ErrorOr<BootDisk> open_boot_disk()
{
    auto* image = static_cast<efi::LoadedImage*>(
        TRY(firmware::handle_protocol(firmware::image(), efi::loaded_image_protocol, "the loader's own image")));
    auto* partition = static_cast<const u8*>(
        TRY(firmware::handle_protocol(image->device_handle, efi::device_path_protocol, "the boot partition's path")));
    u8 disk_path[max_device_path_bytes];
    if (parent_device_path(partition, max_device_path_bytes, disk_path, sizeof(disk_path)) == 0)
        return Error::make(ErrorCode::BootFirmware,
            "the boot partition's device path is malformed or has no parent disk; start BOOTX64.EFI from the "
            "image's EFI system partition");

    // The handle closest to the disk's path that has Block I/O: the whole disk.
    auto* remaining = reinterpret_cast<efi::DevicePath*>(disk_path);
    efi::Handle disk_handle = nullptr;
    efi::Status status = firmware::boot_services()->locate_device_path(&efi::block_io_protocol, &remaining, &disk_handle);
    if (efi::failed(status))
        return firmware::call_failed(ErrorCode::BootFirmware, "LocateDevicePath", "the boot disk's Block I/O", status);
    auto* io = static_cast<efi::BlockIo*>(
        TRY(firmware::handle_protocol(disk_handle, efi::block_io_protocol, "the boot disk's Block I/O")));

    const efi::BlockIoMedia* media = io->media;
    if (!media->media_present || media->logical_partition)
        return Error::make(ErrorCode::BootDiskRead, "the boot disk's Block I/O %s",
            media->media_present ? "is a partition, not the whole disk" : "reports no medium");
    if (media->block_size != boot::sector_size)
        return Error::make(ErrorCode::BootDiskRead,
            "the boot disk has %u-byte blocks; the image's sector addresses assume %u-byte blocks (use a USB stick "
            "or disk with 512-byte sectors)",
            media->block_size, boot::sector_size);
    return BootDisk { io, media->last_block + 1 };
}

ErrorOr<void> read_sectors(const BootDisk& disk, u64 lba, u64 count, void* buffer, const char* what)
{
    efi::Status status = disk.io->read_blocks(disk.io, disk.io->media->media_id, lba, count * boot::sector_size, buffer);
    if (efi::failed(status)) {
        char scratch[32];
        return Error::make(ErrorCode::BootDiskRead,
            "reading sector %llu of %s failed (firmware status %s); the disk or image may be damaged or shorter than "
            "its directory says",
            static_cast<unsigned long long>(lba), what, efi::status_name(status, scratch, sizeof(scratch)));
    }
    return {};
}

}
