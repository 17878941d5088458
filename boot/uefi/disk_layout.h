// Where the loader finds BareFlow's payloads on the disk it was started from, and the device
// paths that lead to that disk.
//
// The image (boot/README.md) has two partitions in its MBR: the EFI system partition the
// firmware started us from, and the payload partition (type 0xDA) whose first sector is the
// payload directory. The loader reads the directory and payloads through the Block I/O of
// the whole disk, by LBA, exactly as stage2 does through INT 13h. Shared code, host-tested.
#pragma once

#include "kernel_lib/base/error.h"

namespace uefi {

// The payload directory's sector: the start of the MBR's type-0xDA partition. Errors
// (boot.directory) for a sector 0 without the 55 AA signature, no such partition, or one
// that starts beyond the disk's `disk_sectors`.
kl::ErrorOr<u64> payload_directory_lba(const u8* mbr, u64 disk_sectors);

// ---- device paths (UEFI's chains of nodes: type, subtype, u16 length, data) ------------------

// The bytes of a device path up to and including its final end node (across instances),
// or 0 when it is malformed within `max_bytes`.
usize device_path_bytes(const u8* path, usize max_bytes);

// Whether any instance of the path goes through a UART (messaging subtype 0x0E): the
// firmware console then already reaches a serial port.
bool device_path_has_uart(const u8* path, usize max_bytes);

// Copies `path` without its last node, i.e. the disk a partition's path lies on, followed
// by an end node, into `out`. Returns the bytes written, or 0 when the path is malformed,
// has no node to drop, or does not fit `out_capacity`.
usize parent_device_path(const u8* path, usize max_bytes, u8* out, usize out_capacity);

}
