// Status names and GUID comparison for the UEFI types (see efi.h).
#include "boot/uefi/efi.h"

#include <stdio.h>
#include <string.h>

namespace efi {

const char* status_name(Status status, char* scratch, usize scratch_size)
{
    // The error statuses of UEFI 2.x, numbered from 1 (the high bit set).
    static const char* const errors[] = { "EFI_LOAD_ERROR", "EFI_INVALID_PARAMETER", "EFI_UNSUPPORTED",
        "EFI_BAD_BUFFER_SIZE", "EFI_BUFFER_TOO_SMALL", "EFI_NOT_READY", "EFI_DEVICE_ERROR", "EFI_WRITE_PROTECTED",
        "EFI_OUT_OF_RESOURCES", "EFI_VOLUME_CORRUPTED", "EFI_VOLUME_FULL", "EFI_NO_MEDIA", "EFI_MEDIA_CHANGED",
        "EFI_NOT_FOUND", "EFI_ACCESS_DENIED", "EFI_NO_RESPONSE", "EFI_NO_MAPPING", "EFI_TIMEOUT", "EFI_NOT_STARTED",
        "EFI_ALREADY_STARTED", "EFI_ABORTED", "EFI_ICMP_ERROR", "EFI_TFTP_ERROR", "EFI_PROTOCOL_ERROR",
        "EFI_INCOMPATIBLE_VERSION", "EFI_SECURITY_VIOLATION", "EFI_CRC_ERROR" };
    if (status == success)
        return "EFI_SUCCESS";
    u64 number = status & ~error_bit;
    if (failed(status) && number >= 1 && number <= sizeof(errors) / sizeof(errors[0]))
        return errors[number - 1];
    snprintf(scratch, scratch_size, "status %#llx", static_cast<unsigned long long>(status));
    return scratch;
}

bool same_guid(const Guid& a, const Guid& b) { return memcmp(&a, &b, sizeof(Guid)) == 0; }

}
