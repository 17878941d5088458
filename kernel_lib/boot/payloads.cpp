// Payload lookup and verification (see payloads.h).
#include "kernel_lib/boot/payloads.h"

#include <string.h>

#include "kernel_lib/codec/crc32c.h"

namespace kl::boot {

namespace {

bool name_is(const LoadedPayload& p, const char* name)
{
    return strncmp(p.name, name, payload_name_bytes) == 0 && strlen(name) < payload_name_bytes;
}

}

ErrorOr<void> validate_bootinfo(const BootInfo& info)
{
    if (info.magic != bootinfo_magic || info.version != bootinfo_version)
        return Error::make(ErrorCode::BootInfoInvalid,
            "boot info has magic 0x%08x version %u, expected 0x%08x version %u: the boot loader and kernel do not "
            "match; rebuild the image",
            info.magic, info.version, bootinfo_magic, bootinfo_version);
    if (info.payload_count == 0 || info.payload_count > max_payloads || info.region_count > max_memory_regions)
        return Error::make(ErrorCode::BootInfoInvalid, "boot info lists %u payloads and %u memory regions (limits %u, %u)",
            info.payload_count, info.region_count, max_payloads, max_memory_regions);
    return {};
}

const char* memory_map_source(const BootInfo& info)
{
    if (info.flags & BootInfoFlagUefi)
        return "UEFI";
    return (info.flags & BootInfoFlagE820) ? "E820" : "E801";
}

bool has_payload(const BootInfo& info, const char* name)
{
    for (u32 i = 0; i < info.payload_count && i < max_payloads; ++i) {
        if (name_is(info.payloads[i], name))
            return true;
    }
    return false;
}

ErrorOr<PayloadView> find_payload(const BootInfo& info, const char* name)
{
    for (u32 i = 0; i < info.payload_count && i < max_payloads; ++i) {
        const LoadedPayload& p = info.payloads[i];
        if (name_is(p, name))
            return PayloadView { name, reinterpret_cast<const u8*>(static_cast<uptr>(p.address)), p.size, p.crc32 };
    }
    char names[max_payloads * (payload_name_bytes + 1) + 1] = {};
    usize used = 0;
    for (u32 i = 0; i < info.payload_count && i < max_payloads; ++i) {
        usize len = strnlen(info.payloads[i].name, payload_name_bytes);
        if (used)
            names[used++] = ' ';
        memcpy(names + used, info.payloads[i].name, len);
        used += len;
    }
    names[used] = 0;
    return Error::make(ErrorCode::PayloadMissing, "the image has no '%s' payload (it holds: %s); rebuild it with make image",
        name, names);
}

ErrorOr<void> verify_payload(const PayloadView& payload)
{
    u32 actual = crc32c(payload.data, payload.size);
    if (actual != payload.expected_crc)
        return Error::make(ErrorCode::PayloadChecksum,
            "payload '%s' (%llu bytes) is damaged: CRC-32C 0x%08x, the directory says 0x%08x; rebuild or rewrite the image",
            payload.name, static_cast<unsigned long long>(payload.size), actual, payload.expected_crc);
    return {};
}

}
