// ACPI table walk for SMP (see acpi.h). Tables may sit at any byte address, so every field
// is read with kl::read_u32/read_u64 (base/unaligned.h), never through a cast pointer.
#include "kernel_lib/smp/acpi.h"

#include <string.h>

#include "kernel_lib/base/unaligned.h"

namespace kl::acpi {

namespace {

unsigned long long ull(u64 v) { return static_cast<unsigned long long>(v); }

constexpr char rsdp_signature[8] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };

// A valid RSDP at `address`, or nullptr.
const u8* rsdp_at(const PhysicalMemory& memory, u64 address)
{
    const u8* p = memory.at(address, rsdp_v1_bytes);
    if (!p || memcmp(p, rsdp_signature, 8) != 0 || checksum(p, rsdp_v1_bytes) != 0)
        return nullptr;
    if (p[15] >= 2) {
        const u8* full = memory.at(address, rsdp_v2_bytes);
        if (!full)
            return nullptr;
        u32 length = read_u32(full + 20);
        if (length < rsdp_v2_bytes || !memory.at(address, length) || checksum(memory.at(address, length), length) != 0)
            return nullptr;
    }
    return p;
}

ErrorOr<u64> scan(const PhysicalMemory& memory, u64 begin, u64 end)
{
    for (u64 at = align_up<u64>(begin, 16); at + rsdp_v1_bytes <= end; at += 16) {
        if (rsdp_at(memory, at))
            return at;
    }
    return Error::make(ErrorCode::InvalidArgument, "no RSDP in %#llx..%#llx", ull(begin), ull(end));
}

// A system description table at `address`: readable, its length plausible, its checksum
// zero. `signature` may be null (any signature).
ErrorOr<const u8*> checked_table(const PhysicalMemory& memory, u64 address, const char* signature, const char* what)
{
    const u8* header = memory.at(address, sdt_header_bytes);
    if (!header)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the %s at %#llx is not in readable memory", what, ull(address));
    if (signature && memcmp(header, signature, 4) != 0)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the %s at %#llx has signature '%.4s', expected '%.4s'",
            what, ull(address), reinterpret_cast<const char*>(header), signature);
    u32 length = read_u32(header + 4);
    if (length < sdt_header_bytes || length > 16 * MiB)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the %s at %#llx claims an implausible length of %u bytes",
            what, ull(address), length);
    const u8* table = memory.at(address, length);
    if (!table)
        return Error::make(ErrorCode::InvalidArgument,
            "ACPI: the %s at %#llx is truncated: %u bytes claimed, not all of them readable", what, ull(address), length);
    if (checksum(table, length) != 0)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the %s at %#llx fails its checksum (sum %#x)", what,
            ull(address), checksum(table, length));
    return table;
}

// Looks `signature` up in a root table (RSDT: 4-byte entries, XSDT: 8-byte entries).
ErrorOr<TableLocation> search_root(const PhysicalMemory& memory, const u8* root, u32 entry_bytes, const char* signature)
{
    u32 length = read_u32(root + 4);
    u32 count = (length - static_cast<u32>(sdt_header_bytes)) / entry_bytes;
    for (u32 i = 0; i < count; ++i) {
        const u8* entry = root + sdt_header_bytes + i * entry_bytes;
        u64 address = entry_bytes == 8 ? read_u64(entry) : read_u32(entry);
        const u8* header = memory.at(address, sdt_header_bytes);
        if (!header || memcmp(header, signature, 4) != 0)
            continue;
        char what[16];
        memcpy(what, signature, 4);
        memcpy(what + 4, " table", 7);
        const u8* table = TRY(checked_table(memory, address, signature, what));
        return TableLocation { address, read_u32(table + 4) };
    }
    return Error::make(ErrorCode::InvalidArgument, "ACPI: no '%.4s' table among the %u entries of the %s", signature,
        count, entry_bytes == 8 ? "XSDT" : "RSDT");
}

bool add_processor(MadtInfo& info, u32 apic_id)
{
    for (u32 i = 0; i < info.processor_count; ++i) {
        if (info.apic_ids[i] == apic_id) {
            ++info.duplicate_count;
            return false;
        }
    }
    if (info.processor_count == max_processors) {
        ++info.dropped_count;
        return false;
    }
    info.apic_ids[info.processor_count++] = apic_id;
    return true;
}

}

u8 checksum(const u8* bytes, u64 length)
{
    u8 sum = 0;
    for (u64 i = 0; i < length; ++i)
        sum = static_cast<u8>(sum + bytes[i]);
    return sum;
}

ErrorOr<u64> find_rsdp(const PhysicalMemory& memory, u64 ebda_address)
{
    // The EBDA pointer comes from the BDA and may be garbage: only a plausible one (in
    // conventional memory, below the video area) is searched.
    if (ebda_address >= 0x400 && ebda_address < 0xA0000) {
        auto found = scan(memory, ebda_address, ebda_address + ebda_search_bytes);
        if (!found.is_error())
            return found.value();
    }
    auto found = scan(memory, bios_area_begin, bios_area_end);
    if (!found.is_error())
        return found.value();
    return Error::make(ErrorCode::InvalidArgument,
        "ACPI: no valid RSDP (\"RSD PTR \" with a good checksum) in the EBDA (%#llx) or in 0xE0000..0xFFFFF",
        ull(ebda_address));
}

ErrorOr<u64> locate_rsdp(const PhysicalMemory& memory, u64 firmware_rsdp, u64 ebda_address)
{
    if (firmware_rsdp != 0 && rsdp_at(memory, firmware_rsdp))
        return firmware_rsdp;
    auto found = find_rsdp(memory, ebda_address);
    if (found.is_error() && firmware_rsdp != 0)
        return Error::make(ErrorCode::InvalidArgument,
            "ACPI: the RSDP the firmware handed over (%#llx) is not valid, and none is in the BIOS areas",
            ull(firmware_rsdp));
    return found;
}

ErrorOr<TableLocation> find_table(const PhysicalMemory& memory, u64 rsdp_address, const char signature[4], bool* used_xsdt)
{
    const u8* rsdp = rsdp_at(memory, rsdp_address);
    if (!rsdp)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: no valid RSDP at %#llx", ull(rsdp_address));
    if (used_xsdt)
        *used_xsdt = false;
    if (rsdp[15] >= 2) {
        u64 xsdt_address = read_u64(memory.at(rsdp_address, rsdp_v2_bytes) + 24);
        if (xsdt_address != 0) {
            auto xsdt = checked_table(memory, xsdt_address, "XSDT", "XSDT");
            // A broken XSDT with a usable RSDT beside it is survivable: firmware has shipped
            // both; the RSDT is tried next.
            if (!xsdt.is_error()) {
                if (used_xsdt)
                    *used_xsdt = true;
                return search_root(memory, xsdt.value(), 8, signature);
            }
        }
    }
    u32 rsdt_address = read_u32(rsdp + 16);
    if (rsdt_address == 0)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the RSDP names neither a valid XSDT nor an RSDT");
    const u8* rsdt = TRY(checked_table(memory, rsdt_address, "RSDT", "RSDT"));
    return search_root(memory, rsdt, 4, signature);
}

ErrorOr<MadtInfo> parse_madt(const u8* table, u32 length)
{
    if (length < madt_entries_offset)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the MADT is %u bytes, too short for its fixed fields", length);
    MadtInfo info;
    info.lapic_address = read_u32(table + 36);
    info.flags = read_u32(table + 40);
    u32 at = static_cast<u32>(madt_entries_offset);
    while (at < length) {
        if (length - at < 2)
            return Error::make(ErrorCode::InvalidArgument, "ACPI: MADT entry at offset %u is cut off by the table end (%u)",
                at, length);
        u8 type = table[at];
        u8 entry_length = table[at + 1];
        if (entry_length < 2)
            return Error::make(ErrorCode::InvalidArgument, "ACPI: MADT entry at offset %u has length %u", at, entry_length);
        if (entry_length > length - at)
            return Error::make(ErrorCode::InvalidArgument,
                "ACPI: MADT entry at offset %u (type %u, %u bytes) runs past the table end (%u)", at, type, entry_length,
                length);
        const u8* e = table + at;
        switch (type) {
        case 0:  // processor local APIC: uid u8, APIC ID u8, flags u32
            if (entry_length < 8)
                return Error::make(ErrorCode::InvalidArgument, "ACPI: MADT local APIC entry at offset %u is %u bytes, not 8",
                    at, entry_length);
            // Bit 0: enabled. Bit 1 (online capable) marks hot-pluggable slots: not present now.
            if ((read_u32(e + 4) & 1) == 0)
                ++info.disabled_count;
            else if (e[3] != 0xFF)  // 0xFF: a placeholder; the CPU is in a type-9 entry
                add_processor(info, e[3]);
            break;
        case 5:  // local APIC address override: reserved u16, address u64
            if (entry_length < 12)
                return Error::make(ErrorCode::InvalidArgument,
                    "ACPI: MADT APIC address override at offset %u is %u bytes, not 12", at, entry_length);
            info.lapic_address = read_u64(e + 4);
            break;
        case 9:  // processor local x2APIC: reserved u16, x2APIC ID u32, flags u32, uid u32
            if (entry_length < 16)
                return Error::make(ErrorCode::InvalidArgument, "ACPI: MADT x2APIC entry at offset %u is %u bytes, not 16",
                    at, entry_length);
            if ((read_u32(e + 8) & 1) == 0)
                ++info.disabled_count;
            else if (add_processor(info, read_u32(e + 4)))
                ++info.x2apic_entries;
            break;
        default:
            break;  // I/O APICs, interrupt overrides, NMI sources: not needed to start cores
        }
        at += entry_length;
    }
    if (info.lapic_address == 0)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the MADT gives no local APIC address");
    if (info.processor_count == 0)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the MADT lists no enabled processor (%u disabled)",
            info.disabled_count);
    return info;
}

ErrorOr<MadtInfo> read_madt(const PhysicalMemory& memory, u64 rsdp_address)
{
    TableLocation madt = TRY(find_table(memory, rsdp_address, "APIC"));
    return parse_madt(memory.at(madt.address, madt.length), madt.length);
}

ErrorOr<PmTimer> read_pm_timer(const PhysicalMemory& memory, u64 rsdp_address)
{
    // FADT offsets: PM_TMR_BLK 76, PM_TMR_LEN 91, flags 112 (bit 8 TMR_VAL_EXT, bit 20
    // HW_REDUCED_ACPI), X_PM_TMR_BLK 208 (a generic address: space, width, offset, size, u64).
    constexpr u32 pm_tmr_blk = 76, pm_tmr_len = 91, flags = 112, x_pm_tmr_blk = 208, x_end = 220;
    TableLocation facp = TRY(find_table(memory, rsdp_address, "FACP"));
    const u8* fadt = memory.at(facp.address, facp.length);
    if (facp.length < flags + 4)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the FADT is %u bytes, too short for its flags", facp.length);
    u32 fadt_flags = read_u32(fadt + flags);
    if (fadt_flags & (1u << 20))
        return Error::make(ErrorCode::InvalidArgument, "ACPI: hardware-reduced ACPI has no PM timer");
    u64 port = 0;
    if (facp.length >= x_end && fadt[x_pm_tmr_blk] == 1)  // address space 1: system I/O
        port = read_u64(fadt + x_pm_tmr_blk + 4);
    if (port == 0 && fadt[pm_tmr_len] == 4)
        port = read_u32(fadt + pm_tmr_blk);
    if (port == 0 || port > 0xFFFF)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the FADT names no PM timer port (%#llx)", ull(port));
    return PmTimer { static_cast<u16>(port), (fadt_flags & (1u << 8)) != 0 };
}

ErrorOr<u64> read_hpet_address(const PhysicalMemory& memory, u64 rsdp_address)
{
    // The HPET table: header, block ID (36), base address as a generic address (40: space,
    // width, offset, size; 44: u64), HPET number, minimum tick, page protection (56 bytes).
    constexpr u32 base = 40, hpet_table_bytes = 56;
    TableLocation hpet = TRY(find_table(memory, rsdp_address, "HPET"));
    const u8* table = memory.at(hpet.address, hpet.length);
    if (hpet.length < hpet_table_bytes)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: the HPET table is %u bytes, expected %u", hpet.length,
            hpet_table_bytes);
    u64 address = read_u64(table + base + 4);
    if (table[base] != 0 || address == 0 || address % 1024 != 0)
        return Error::make(ErrorCode::InvalidArgument,
            "ACPI: the HPET table's base address (space %u, %#llx) is not a memory-mapped register block", table[base],
            ull(address));
    return address;
}

ErrorOr<McfgInfo> parse_mcfg(const u8* table, u32 length)
{
    if (length < mcfg_entries_offset || (length - mcfg_entries_offset) % 16 != 0)
        return Error::make(ErrorCode::InvalidArgument,
            "ACPI: the MCFG is %u bytes, not its 44-byte header plus whole 16-byte entries", length);
    McfgInfo info;
    for (u32 at = static_cast<u32>(mcfg_entries_offset); at < length && info.count < max_ecam_windows; at += 16) {
        EcamWindow w { read_u64(table + at), static_cast<u16>(table[at + 8] | table[at + 9] << 8), table[at + 10],
            table[at + 11] };
        if (w.start_bus > w.end_bus || (w.base & (MiB - 1)) != 0)
            return Error::make(ErrorCode::InvalidArgument,
                "ACPI: MCFG entry at offset %u (base %#llx, buses %u-%u) is not a valid window", at,
                static_cast<unsigned long long>(w.base), w.start_bus, w.end_bus);
        info.windows[info.count++] = w;
    }
    return info;
}

ErrorOr<McfgInfo> read_mcfg(const PhysicalMemory& memory, u64 rsdp_address)
{
    TableLocation mcfg = TRY(find_table(memory, rsdp_address, "MCFG"));
    return parse_mcfg(memory.at(mcfg.address, mcfg.length), mcfg.length);
}

}
