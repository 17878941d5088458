// Checked boot-service calls (see firmware.efi.h).
#include "boot/uefi/firmware.efi.h"

namespace uefi::firmware {

using namespace kl;

namespace {

efi::Handle g_image = nullptr;
efi::SystemTable* g_system_table = nullptr;
bool g_boot_services_ended = false;

// Descriptors of slack in the memory map buffer: allocating it splits a free range (one or
// two more descriptors), and firmware adds a few of its own now and then.
constexpr u64 memory_map_slack_descriptors = 16;

}

void init(efi::Handle image, efi::SystemTable* system_table)
{
    g_image = image;
    g_system_table = system_table;
}

efi::Handle image() { return g_image; }
efi::SystemTable* system_table() { return g_system_table; }
efi::BootServices* boot_services() { return g_system_table->boot_services; }
bool boot_services_active() { return !g_boot_services_ended; }

Error call_failed(ErrorCode code, const char* call, const char* what, efi::Status status)
{
    char scratch[32];
    return Error::make(code, "the firmware's %s (%s) failed: %s", call, what,
        efi::status_name(status, scratch, sizeof(scratch)));
}

ErrorOr<void*> handle_protocol(efi::Handle handle, const efi::Guid& guid, const char* what)
{
    void* interface = nullptr;
    efi::Status status = boot_services()->handle_protocol(handle, &guid, &interface);
    if (efi::failed(status) || !interface)
        return call_failed(ErrorCode::BootFirmware, "HandleProtocol", what, status);
    return interface;
}

ErrorOr<u64> allocate_pages(efi::AllocateType type, u64 pages, u64 address, const char* what)
{
    efi::PhysicalAddress memory = address;
    efi::Status status = boot_services()->allocate_pages(type, efi::LoaderData, pages, &memory);
    if (efi::failed(status))
        return call_failed(ErrorCode::BootMemory, "AllocatePages", what, status);
    return memory;
}

void free_pages(u64 address, u64 pages)
{
    if (pages)
        (void)boot_services()->free_pages(address, pages);
}

ErrorOr<void> refresh_memory_map(MemoryMap& map)
{
    u64 size = map.capacity;
    u32 version = 0;
    auto* buffer = reinterpret_cast<efi::MemoryDescriptor*>(const_cast<u8*>(map.view.bytes));
    efi::Status status = boot_services()->get_memory_map(&size, buffer, &map.key, &map.view.descriptor_size, &version);
    if (efi::failed(status))
        return call_failed(ErrorCode::BootMemoryMap, "GetMemoryMap", "the memory map", status);
    map.view.map_size = size;
    return {};
}

ErrorOr<MemoryMap> get_memory_map()
{
    MemoryMap map {};
    u64 size = 0, key = 0, descriptor_size = 0;
    u32 version = 0;
    efi::Status status = boot_services()->get_memory_map(&size, nullptr, &key, &descriptor_size, &version);
    if (status != efi::buffer_too_small || descriptor_size == 0)
        return call_failed(ErrorCode::BootMemoryMap, "GetMemoryMap", "the size of the memory map", status);
    map.capacity = size + memory_map_slack_descriptors * descriptor_size;
    void* buffer = nullptr;
    status = boot_services()->allocate_pool(efi::LoaderData, map.capacity, &buffer);
    if (efi::failed(status))
        return call_failed(ErrorCode::BootMemoryMap, "AllocatePool", "the memory map", status);
    map.view.bytes = static_cast<const u8*>(buffer);
    map.view.descriptor_size = descriptor_size;
    auto read = refresh_memory_map(map);
    if (read.is_error()) {
        free_memory_map(map);
        return read.release_error();
    }
    return map;
}

void free_memory_map(MemoryMap& map)
{
    if (map.view.bytes && boot_services_active())
        (void)boot_services()->free_pool(const_cast<u8*>(map.view.bytes));
    map.view.bytes = nullptr;
}

ErrorOr<void> exit_boot_services(MemoryMap& map)
{
    efi::Status status = boot_services()->exit_boot_services(g_image, map.key);
    if (status == efi::invalid_parameter) {
        TRY(refresh_memory_map(map));
        status = boot_services()->exit_boot_services(g_image, map.key);
    }
    if (efi::failed(status))
        return call_failed(ErrorCode::BootFirmware, "ExitBootServices", "handing the machine to the kernel", status);
    // From here on the firmware's boot services are gone: nothing may call them.
    g_boot_services_ended = true;
    return {};
}

}
