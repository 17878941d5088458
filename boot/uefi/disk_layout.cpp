// MBR and device path reading for the loader (see disk_layout.h).
#include "boot/uefi/disk_layout.h"

#include <string.h>

#include "boot/uefi/efi.h"
#include "kernel_lib/base/unaligned.h"
#include "kernel_lib/boot/bootinfo.h"

namespace uefi {

using namespace kl;

namespace {

constexpr usize node_header_bytes = 4;

u16 node_length(const u8* node) { return static_cast<u16>(node[2] | (node[3] << 8)); }
bool is_end_node(const u8* node) { return node[0] == efi::device_path_end; }
bool is_final_end(const u8* node) { return is_end_node(node) && node[1] == efi::end_entire; }

}

ErrorOr<u64> payload_directory_lba(const u8* mbr, u64 disk_sectors)
{
    using namespace kl::boot;
    if (mbr[boot_signature_offset] != 0x55 || mbr[boot_signature_offset + 1] != 0xAA)
        return Error::make(ErrorCode::BootDirectory,
            "sector 0 of the boot disk has no 55 AA signature; write the whole image to the disk (make usb)");
    for (u32 i = 0; i < 4; ++i) {
        const u8* entry = mbr + partition_table_offset + i * partition_entry_bytes;
        if (entry[4] != partition_type_payloads)
            continue;
        u64 start = read_u32(entry + 8);
        if (start == 0 || start >= disk_sectors)
            return Error::make(ErrorCode::BootDirectory,
                "the payload partition starts at sector %llu, outside the %llu-sector disk; rebuild the image",
                static_cast<unsigned long long>(start), static_cast<unsigned long long>(disk_sectors));
        return start;
    }
    return Error::make(ErrorCode::BootDirectory,
        "the boot disk's partition table has no BareFlow payload partition (type 0xda); write the whole image "
        "to the disk (make usb)");
}

usize device_path_bytes(const u8* path, usize max_bytes)
{
    for (usize at = 0; at + node_header_bytes <= max_bytes;) {
        usize length = node_length(path + at);
        // End nodes are exactly a header; any other node at least one.
        if (length < node_header_bytes || at + length > max_bytes || (is_end_node(path + at) && length != node_header_bytes))
            return 0;
        at += length;
        if (is_final_end(path + at - length))
            return at;
    }
    return 0;
}

bool device_path_has_uart(const u8* path, usize max_bytes)
{
    usize total = device_path_bytes(path, max_bytes);
    for (usize at = 0; at < total; at += node_length(path + at)) {
        if (path[at] == efi::device_path_messaging && path[at + 1] == efi::messaging_uart)
            return true;
    }
    return false;
}

usize parent_device_path(const u8* path, usize max_bytes, u8* out, usize out_capacity)
{
    usize total = device_path_bytes(path, max_bytes);
    // The last node before the final end node, within the first instance.
    usize last = total, at = 0;
    while (at < total && !is_end_node(path + at)) {
        last = at;
        at += node_length(path + at);
    }
    if (total == 0 || last == total || last + node_header_bytes > out_capacity)
        return 0;
    memcpy(out, path, last);
    const u8 end[node_header_bytes] = { efi::device_path_end, efi::end_entire, node_header_bytes, 0 };
    memcpy(out + last, end, node_header_bytes);
    return last + node_header_bytes;
}

}
