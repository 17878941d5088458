// efi_main: BareFlow's UEFI loader, \EFI\BOOT\BOOTX64.EFI on the image's EFI system partition.
//
// It does what stage2 does on a BIOS machine, through the firmware's services instead of
// BIOS calls, and enters the kernel exactly as stage2 does (64-bit, kernel.bin at 1 MiB,
// RDI = &BootInfo, interrupts off, an identity map of all RAM):
//   1. find the disk it was started from, the payload partition's directory, and check it
//      with the kernel's own rules (kernel_lib/boot/directory.h);
//   2. claim the fixed places the kernel runs at (1 MiB, the unpacker's area, the SMP
//      trampoline), or make sure the firmware only borrows them until ExitBootServices;
//   3. load every payload below 4 GiB, 2 MiB aligned, and check its CRC-32C;
//   4. gather the ACPI RSDP and the GOP framebuffer, build the page tables and BootInfo in
//      pages below 1 MiB;
//   5. read the memory map, exit boot services, convert the map into BootInfo and jump.
// A failure before step 5 prints a message, an `@error` and an `@exit` line, frees what was
// allocated and returns to the firmware.
#include <stdio.h>
#include <string.h>

#include "boot/uefi/bootinfo_builder.h"
#include "boot/uefi/console.efi.h"
#include "boot/uefi/disk.efi.h"
#include "boot/uefi/disk_layout.h"
#include "boot/uefi/efi.h"
#include "boot/uefi/firmware.efi.h"
#include "boot/uefi/page_tables.h"
#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/base/unaligned.h"
#include "kernel_lib/boot/directory.h"
#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/cpu/features.h"

// The last step, in boot/uefi/handover.asm: no firmware state is used from its first
// instruction on (own GDT, page tables and stack), then kernel.bin is copied to 1 MiB.
struct KernelEntry {
    u64 page_tables;
    u64 stack_top;
    u64 kernel_source;
    u64 kernel_size;
    u64 bootinfo;
};
extern "C" [[noreturn]] void bareflow_enter_kernel(const KernelEntry* entry);

namespace uefi {

using namespace kl;
using namespace kl::boot;

namespace {

constexpr u64 below_4gib = 4 * GiB - 1;
constexpr u64 below_1mib = 0xFFFFF;
constexpr u64 pages_per_2mib = 2 * MiB / efi::page_size;
constexpr u64 read_chunk_sectors = 2048;  // 1 MiB per Block I/O call
constexpr u64 stack_pages = 4;
constexpr u32 error_wait_seconds = 30;

u64 pages_for(u64 bytes) { return max<u64>(1, (bytes + efi::page_size - 1) / efi::page_size); }

// Every allocation made so far, released if the loader returns to the firmware.
struct Placement {
    struct Item {
        u64 address, pages;
    } items[2 * directory_max_entries + 8];
    u32 count = 0;

    void add(u64 address, u64 pages)
    {
        if (count < array_size(items))
            items[count++] = { address, pages };
    }
    void release_all()
    {
        while (count > 0) {
            --count;
            firmware::free_pages(items[count].address, items[count].pages);
        }
    }
};

// Pages at exactly [start, end), or the proof that the firmware only lends them until
// ExitBootServices (after which the hand-over overwrites them).
ErrorOr<void> claim_fixed_range(Placement& placement, u64 start, u64 end, const char* what)
{
    u64 pages = (end - start) / efi::page_size;
    if (!firmware::allocate_pages(efi::AllocateAddress, pages, start, what).is_error()) {
        placement.add(start, pages);
        return {};
    }
    auto map = TRY(firmware::get_memory_map());
    auto free = check_free_after_exit(map.view, start, end, what);
    firmware::free_memory_map(map);
    return free;
}

// The unpacker's stack below unpack_address and kernel.bin's copy above it: only as much as
// this kernel.bin needs, since many PCs keep a page at 0x58000 reserved.
ErrorOr<void> claim_unpacker_area(Placement& placement, u64 kernel_size)
{
    u64 end = align_up<u64>(unpack_address + kernel_size, efi::page_size);
    if (end > unpack_area_end)
        return Error::make(ErrorCode::BootKernel, "kernel.bin is %llu bytes; the unpacker has room for %llu",
            static_cast<unsigned long long>(kernel_size), static_cast<unsigned long long>(unpack_area_end - unpack_address));
    return claim_fixed_range(placement, unpack_area_begin, end, "the kernel unpacker");
}

// `pages` below 4 GiB on a 2 MiB boundary (so the kernel can map a model with large pages),
// or on any page boundary when memory is too fragmented for that.
ErrorOr<u64> allocate_payload(Placement& placement, u64 pages, const char* name)
{
    auto wide = firmware::allocate_pages(efi::AllocateMaxAddress, pages + pages_per_2mib - 1, below_4gib, name);
    if (!wide.is_error()) {
        u64 base = wide.value();
        u64 aligned = align_up<u64>(base, 2 * MiB);
        u64 head = (aligned - base) / efi::page_size;
        firmware::free_pages(base, head);
        firmware::free_pages(aligned + pages * efi::page_size, pages_per_2mib - 1 - head);
        placement.add(aligned, pages);
        return aligned;
    }
    auto narrow = firmware::allocate_pages(efi::AllocateMaxAddress, pages, below_4gib, name);
    if (narrow.is_error())
        return Error::make(ErrorCode::BootMemory,
            "payload %s needs %llu MiB below 4 GiB, but the firmware has no free range that large; give the machine "
            "more memory (QEMU: MEM=2G or more)",
            name, static_cast<unsigned long long>((pages * efi::page_size + MiB - 1) / MiB));
    placement.add(narrow.value(), pages);
    return narrow.value();
}

// The sector of the payload directory and the directory itself, checked as the kernel checks it.
ErrorOr<void> read_directory(const BootDisk& disk, Placement& placement, u8* directory)
{
    u64 scratch = TRY(firmware::allocate_pages(efi::AllocateMaxAddress, 1, below_4gib, "a sector buffer"));
    placement.add(scratch, 1);
    u8* sector = reinterpret_cast<u8*>(scratch);
    TRY(read_sectors(disk, 0, 1, sector, "the partition table"));
    u64 directory_lba = TRY(payload_directory_lba(sector, disk.sectors));
    TRY(read_sectors(disk, directory_lba, 1, sector, "the payload directory"));
    memcpy(directory, sector, sector_size);
    TRY(validate_directory(directory, disk.sectors, directory_lba));
    return {};
}

struct Payloads {
    u64 addresses[directory_max_entries];
    u64 kernel_source;  // kernel.bin as read; copied to 1 MiB at the hand-over
    u64 kernel_size;
};

ErrorOr<void> load_payload(const BootDisk& disk, const u8* entry, u64 address, u64& done, u64 total)
{
    char name[payload_name_bytes + 1] = {};  // validated: NUL-terminated within the field
    memcpy(name, entry + offsetof(DirectoryEntry, name), payload_name_bytes);
    char quoted[payload_name_bytes + 3];
    snprintf(quoted, sizeof(quoted), "'%s'", name);
    u64 lba = read_u64(entry + offsetof(DirectoryEntry, lba));
    u64 size = read_u64(entry + offsetof(DirectoryEntry, size));
    u64 sectors = (size + sector_size - 1) / sector_size;
    for (u64 at = 0; at < sectors; at += read_chunk_sectors) {
        u64 count = min(read_chunk_sectors, sectors - at);
        TRY(read_sectors(disk, lba + at, count, reinterpret_cast<u8*>(address) + at * sector_size, quoted));
        done += min(count * sector_size, size - at * sector_size);
        console::progress(done, total);
    }
    return verify_payload({ name, reinterpret_cast<const u8*>(address), size,
        read_u32(entry + offsetof(DirectoryEntry, crc32)) });
}

ErrorOr<Payloads> load_payloads(const BootDisk& disk, const u8* directory, Placement& placement)
{
    Payloads loaded {};
    u32 count = read_u32(directory + offsetof(DirectoryHeader, entry_count));
    const u8* entries = directory + sizeof(DirectoryHeader);
    u64 total = 0, done = 0;
    for (u32 i = 0; i < count; ++i)
        total += read_u64(entries + i * sizeof(DirectoryEntry) + offsetof(DirectoryEntry, size));
    for (u32 i = 0; i < count; ++i) {
        const u8* entry = entries + i * sizeof(DirectoryEntry);
        const char* name = reinterpret_cast<const char*>(entry);
        u64 size = read_u64(entry + offsetof(DirectoryEntry, size));
        loaded.addresses[i] = TRY(allocate_payload(placement, pages_for(size), name));
        TRY(load_payload(disk, entry, loaded.addresses[i], done, total));
    }
    loaded.kernel_source = loaded.addresses[0];
    loaded.kernel_size = read_u64(entries + offsetof(DirectoryEntry, size));
    return loaded;
}

u64 find_rsdp()
{
    const efi::SystemTable* st = firmware::system_table();
    u64 acpi1 = 0;
    for (u64 i = 0; i < st->number_of_table_entries; ++i) {
        const efi::ConfigurationTable& t = st->configuration_table[i];
        if (efi::same_guid(t.vendor_guid, efi::acpi_20_table))
            return reinterpret_cast<u64>(t.vendor_table);
        if (efi::same_guid(t.vendor_guid, efi::acpi_10_table))
            acpi1 = reinterpret_cast<u64>(t.vendor_table);
    }
    return acpi1;
}

// The GOP's framebuffer, after switching to the smallest mode that holds the kernel's 80x25
// text grid of 8x16 cells when the current one does not.
Framebuffer find_framebuffer()
{
    constexpr u32 min_width = 640, min_height = 400;
    efi::GraphicsOutput* gop = nullptr;
    if (efi::failed(firmware::boot_services()->locate_protocol(&efi::graphics_output_protocol, nullptr,
            reinterpret_cast<void**>(&gop))) || !gop || !gop->mode || !gop->mode->info)
        return {};
    const efi::GraphicsModeInformation* now = gop->mode->info;
    if (now->horizontal_resolution < min_width || now->vertical_resolution < min_height) {
        u32 best = gop->mode->max_mode;
        u64 best_area = ~0ull;
        for (u32 m = 0; m < gop->mode->max_mode; ++m) {
            u64 size = 0;
            efi::GraphicsModeInformation* info = nullptr;
            if (efi::failed(gop->query_mode(gop, m, &size, &info)) || !info)
                continue;
            u64 area = static_cast<u64>(info->horizontal_resolution) * info->vertical_resolution;
            if (info->horizontal_resolution >= min_width && info->vertical_resolution >= min_height &&
                info->pixel_format != efi::PixelBltOnly && area < best_area)
                best = m, best_area = area;
        }
        if (best == gop->mode->max_mode || efi::failed(gop->set_mode(gop, best)))
            return {};
    }
    return framebuffer_from_gop(*gop->mode->info, gop->mode->frame_buffer_base, gop->mode->frame_buffer_size);
}

// Page tables, BootInfo and the kernel's first stack, in pages below 1 MiB: the kernel keeps
// everything there out of its allocator, so none of it is overwritten before it is done with.
struct Handover {
    BootInfo* info;
    IdentityMapPlan plan;
    u64 tables;
    u64 stack_top;
};

ErrorOr<Handover> prepare_handover(Placement& placement, const Framebuffer& framebuffer)
{
    auto map = TRY(firmware::get_memory_map());
    MemoryRegion regions[max_memory_regions];
    auto converted = convert_memory_map(map.view, regions, max_memory_regions);
    firmware::free_memory_map(map);
    if (converted.is_error())
        return converted.release_error();
    u32 region_count = converted.value();
    Handover h {};
    h.plan = plan_identity_map(regions, region_count, framebuffer.address + framebuffer.size, cpu::features().pages_1g);
    u64 pages = h.plan.table_pages + 1 + stack_pages;
    h.tables = TRY(firmware::allocate_pages(efi::AllocateMaxAddress, pages, below_1mib, "the page tables and BootInfo"));
    placement.add(h.tables, pages);
    build_identity_map(h.plan, reinterpret_cast<u64*>(h.tables), h.tables);
    h.info = reinterpret_cast<BootInfo*>(h.tables + h.plan.table_pages * efi::page_size);
    h.stack_top = h.tables + pages * efi::page_size;
    return h;
}

// After ExitBootServices the machine is ours: the legacy PICs and the local APIC timer the
// firmware may have left running are silenced, as stage2 masks the PICs.
void quiet_interrupt_sources()
{
    constexpr u32 msr_apic_base = 0x1B, msr_x2apic_lvt_timer = 0x832, lvt_timer = 0x320, lvt_masked = 1u << 16;
    x86::cli();
    x86::outb(0xA1, 0xFF);
    x86::outb(0x21, 0xFF);
    u64 apic = x86::rdmsr(msr_apic_base);
    if (!(apic & (1u << 11)))
        return;
    if (apic & (1u << 10))
        x86::wrmsr(msr_x2apic_lvt_timer, lvt_masked);
    else
        *reinterpret_cast<volatile u32*>((apic & ~0xFFFull) + lvt_timer) = lvt_masked;
}

// The memory map, a dry run of BootInfo on it (so that every error build_bootinfo can raise
// is raised while the firmware can still show it), then ExitBootServices. On success the
// firmware is gone and `map` is the final map.
ErrorOr<void> leave_firmware(BootInfo& info, LoaderFacts& facts, firmware::MemoryMap& map)
{
    console::write("BareFlow UEFI loader: entering the kernel\n");
    map = TRY(firmware::get_memory_map());
    facts.memory_map = map.view;
    auto left = build_bootinfo(info, facts);
    if (!left.is_error())
        left = firmware::exit_boot_services(map);
    if (left.is_error())
        firmware::free_memory_map(map);
    return left;
}

ErrorOr<void> load_and_enter(Placement& placement, u64 loader_tsc)
{
    (void)firmware::boot_services()->set_watchdog_timer(0, 0, 0, nullptr);  // a big model may take minutes
    BootDisk disk = TRY(open_boot_disk());
    u8 directory[sector_size];
    TRY(read_directory(disk, placement, directory));
    TRY(claim_fixed_range(placement, kernel_load_address, payload_base, "the kernel and its unpacker's tables"));
    TRY(claim_unpacker_area(placement, read_u64(directory + sizeof(DirectoryHeader) + offsetof(DirectoryEntry, size))));
    TRY(claim_fixed_range(placement, ap_trampoline_address, ap_trampoline_address + ap_trampoline_bytes,
        "the SMP start-up code"));
    Payloads loaded = TRY(load_payloads(disk, directory, placement));

    Framebuffer framebuffer = find_framebuffer();
    Handover h = TRY(prepare_handover(placement, framebuffer));
    if (framebuffer.address + framebuffer.size > h.plan.mapped_bytes)
        framebuffer = {};  // beyond what 2 MiB pages can map
    if (!framebuffer.address)
        console::write("BareFlow UEFI loader: no usable linear framebuffer; the console is on the serial port only\n");
    LoaderFacts facts { directory, loaded.addresses, {}, h.plan, find_rsdp(), framebuffer, loader_tsc };
    firmware::MemoryMap map {};
    TRY(leave_firmware(*h.info, facts, map));

    console::boot_services_ended();
    facts.memory_map = map.view;
    auto built = build_bootinfo(*h.info, facts);
    if (built.is_error()) {
        console::report(built.error());  // COM1 only by now
        for (;;)
            x86::hlt();
    }
    quiet_interrupt_sources();
    KernelEntry entry { h.tables, h.stack_top, loaded.kernel_source, loaded.kernel_size, reinterpret_cast<u64>(h.info) };
    bareflow_enter_kernel(&entry);
}

}

}

extern "C" efi::Status EFIAPI efi_main(efi::Handle image, efi::SystemTable* system_table)
{
    u64 loader_tsc = kl::x86::rdtsc();
    uefi::firmware::init(image, system_table);
    uefi::console::init();
    uefi::console::write("BareFlow UEFI loader: loading\n");
    uefi::Placement placement;
    auto result = uefi::load_and_enter(placement, loader_tsc);  // returns only with an error
    VERIFY(result.is_error());
    placement.release_all();
    uefi::console::report(result.error());
    uefi::console::wait_for_key(uefi::error_wait_seconds);
    return efi::load_error;
}
