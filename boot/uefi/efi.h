// The few UEFI types the loader uses, written here from the UEFI specification (2.x):
// status codes, GUIDs, the system table, boot services, memory descriptors, device paths,
// and the protocols BareFlow needs (loaded image, block I/O, text in/out, graphics output).
//
// Only the members the loader calls are typed; the others are `void*` slots that keep the
// offsets, and static_asserts pin every offset the loader relies on. Every firmware entry
// point uses the Microsoft x64 calling convention (EFIAPI), also when this header is
// compiled into the host tests, which use the plain structures but never call through them.
#pragma once

#include <stddef.h>

#include "kernel_lib/base/types.h"

#define EFIAPI __attribute__((ms_abi))

namespace efi {

using Status = u64;
using Handle = void*;
using Event = void*;
using PhysicalAddress = u64;
using Char16 = char16_t;

constexpr Status error_bit = 1ull << 63;
constexpr Status success = 0;
constexpr Status load_error = error_bit | 1;
constexpr Status invalid_parameter = error_bit | 2;
constexpr Status buffer_too_small = error_bit | 5;
constexpr Status not_ready = error_bit | 6;
constexpr Status not_found = error_bit | 14;

inline bool failed(Status s) { return (s & error_bit) != 0; }

// The status's name from the specification ("EFI_NOT_FOUND"), or "status 0x..." in `scratch`.
const char* status_name(Status status, char* scratch, usize scratch_size);

struct Guid {
    u32 data1;
    u16 data2, data3;
    u8 data4[8];
};
static_assert(sizeof(Guid) == 16);

bool same_guid(const Guid& a, const Guid& b);

constexpr Guid loaded_image_protocol { 0x5b1b31a1, 0x9562, 0x11d2, { 0x8e, 0x3f, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b } };
constexpr Guid device_path_protocol { 0x09576e91, 0x6d3f, 0x11d2, { 0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b } };
constexpr Guid block_io_protocol { 0x964e5b21, 0x6459, 0x11d2, { 0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b } };
constexpr Guid graphics_output_protocol { 0x9042a9de, 0x23dc, 0x4a38, { 0x96, 0xfb, 0x7a, 0xde, 0xd0, 0x80, 0x51, 0x6a } };
constexpr Guid acpi_20_table { 0x8868e871, 0xe4f1, 0x11d3, { 0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 } };
constexpr Guid acpi_10_table { 0xeb9d2d30, 0x2d88, 0x11d3, { 0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d } };
constexpr Guid global_variable { 0x8be4df61, 0x93ca, 0x11d2, { 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c } };

struct TableHeader {
    u64 signature;
    u32 revision;
    u32 header_size;
    u32 crc32;
    u32 reserved;
};

// ---- memory ------------------------------------------------------------------------------
enum MemoryType : u32 {
    ReservedMemoryType = 0,
    LoaderCode = 1,
    LoaderData = 2,
    BootServicesCode = 3,
    BootServicesData = 4,
    RuntimeServicesCode = 5,
    RuntimeServicesData = 6,
    ConventionalMemory = 7,
    UnusableMemory = 8,
    AcpiReclaimMemory = 9,
    AcpiMemoryNvs = 10,
    MemoryMappedIo = 11,
    MemoryMappedIoPortSpace = 12,
    PalCode = 13,
    PersistentMemory = 14,
    UnacceptedMemory = 15,
};

enum AllocateType : u32 { AllocateAnyPages = 0, AllocateMaxAddress = 1, AllocateAddress = 2 };

constexpr u64 page_size = 4096;

// One entry of GetMemoryMap's array; entries are `descriptor_size` bytes apart, which may be
// more than sizeof(MemoryDescriptor).
struct MemoryDescriptor {
    u32 type;
    u32 padding;
    PhysicalAddress physical_start;
    u64 virtual_start;
    u64 number_of_pages;
    u64 attribute;
};
static_assert(sizeof(MemoryDescriptor) == 40);
static_assert(offsetof(MemoryDescriptor, physical_start) == 8);
static_assert(offsetof(MemoryDescriptor, number_of_pages) == 24);

// ---- device paths ------------------------------------------------------------------------
struct DevicePath {
    u8 type;
    u8 subtype;
    u8 length[2];
};

constexpr u8 device_path_messaging = 0x03;
constexpr u8 device_path_media = 0x04;
constexpr u8 device_path_end = 0x7F;
constexpr u8 messaging_uart = 0x0E;
constexpr u8 end_entire = 0xFF;
constexpr u8 end_instance = 0x01;

// ---- console -----------------------------------------------------------------------------
struct InputKey {
    u16 scan_code;
    Char16 unicode_char;
};

struct SimpleTextInput {
    void* reset;
    Status(EFIAPI* read_key_stroke)(SimpleTextInput* self, InputKey* key);
    Event wait_for_key;
};

struct SimpleTextOutput {
    void* reset;
    Status(EFIAPI* output_string)(SimpleTextOutput* self, const Char16* text);
    void* test_string;
    void* query_mode;
    void* set_mode;
    Status(EFIAPI* set_attribute)(SimpleTextOutput* self, u64 attribute);
    void* clear_screen;
    void* set_cursor_position;
    void* enable_cursor;
    void* mode;
};
static_assert(offsetof(SimpleTextOutput, set_attribute) == 40);

// ---- protocols ---------------------------------------------------------------------------
struct SystemTable;

struct LoadedImage {
    u32 revision;
    Handle parent_handle;
    SystemTable* system_table;
    Handle device_handle;
    DevicePath* file_path;
    void* reserved;
    u32 load_options_size;
    void* load_options;
    void* image_base;
    u64 image_size;
    MemoryType image_code_type;
    MemoryType image_data_type;
    void* unload;
};
static_assert(offsetof(LoadedImage, device_handle) == 24);
static_assert(offsetof(LoadedImage, image_base) == 64);
static_assert(offsetof(LoadedImage, image_size) == 72);

struct BlockIoMedia {
    u32 media_id;
    bool removable_media;
    bool media_present;
    bool logical_partition;
    bool read_only;
    bool write_caching;
    u32 block_size;
    u32 io_align;
    u64 last_block;
};
static_assert(offsetof(BlockIoMedia, logical_partition) == 6);
static_assert(offsetof(BlockIoMedia, block_size) == 12);
static_assert(offsetof(BlockIoMedia, last_block) == 24);

struct BlockIo {
    u64 revision;
    BlockIoMedia* media;
    void* reset;
    Status(EFIAPI* read_blocks)(BlockIo* self, u32 media_id, u64 lba, u64 buffer_size, void* buffer);
    void* write_blocks;
    void* flush_blocks;
};
static_assert(offsetof(BlockIo, read_blocks) == 24);

enum GraphicsPixelFormat : u32 {
    PixelRedGreenBlueReserved8BitPerColor = 0,
    PixelBlueGreenRedReserved8BitPerColor = 1,
    PixelBitMask = 2,
    PixelBltOnly = 3,
};

struct GraphicsModeInformation {
    u32 version;
    u32 horizontal_resolution;
    u32 vertical_resolution;
    GraphicsPixelFormat pixel_format;
    u32 red_mask, green_mask, blue_mask, reserved_mask;
    u32 pixels_per_scan_line;
};
static_assert(offsetof(GraphicsModeInformation, red_mask) == 16);
static_assert(offsetof(GraphicsModeInformation, pixels_per_scan_line) == 32);

struct GraphicsOutputMode {
    u32 max_mode;
    u32 mode;
    GraphicsModeInformation* info;
    u64 size_of_info;
    PhysicalAddress frame_buffer_base;
    u64 frame_buffer_size;
};
static_assert(offsetof(GraphicsOutputMode, frame_buffer_base) == 24);

struct GraphicsOutput {
    Status(EFIAPI* query_mode)(GraphicsOutput* self, u32 mode, u64* size_of_info, GraphicsModeInformation** info);
    Status(EFIAPI* set_mode)(GraphicsOutput* self, u32 mode);
    void* blt;
    GraphicsOutputMode* mode;
};

// ---- services ----------------------------------------------------------------------------
struct BootServices {
    TableHeader header;
    void* raise_tpl;
    void* restore_tpl;
    Status(EFIAPI* allocate_pages)(AllocateType type, MemoryType memory_type, u64 pages, PhysicalAddress* memory);
    Status(EFIAPI* free_pages)(PhysicalAddress memory, u64 pages);
    Status(EFIAPI* get_memory_map)(u64* map_size, MemoryDescriptor* map, u64* map_key, u64* descriptor_size,
        u32* descriptor_version);
    Status(EFIAPI* allocate_pool)(MemoryType pool_type, u64 size, void** buffer);
    Status(EFIAPI* free_pool)(void* buffer);
    void* create_event;
    void* set_timer;
    void* wait_for_event;
    void* signal_event;
    void* close_event;
    void* check_event;
    void* install_protocol_interface;
    void* reinstall_protocol_interface;
    void* uninstall_protocol_interface;
    Status(EFIAPI* handle_protocol)(Handle handle, const Guid* protocol, void** interface);
    void* reserved;
    void* register_protocol_notify;
    void* locate_handle;
    Status(EFIAPI* locate_device_path)(const Guid* protocol, DevicePath** path, Handle* device);
    void* install_configuration_table;
    void* load_image;
    void* start_image;
    Status(EFIAPI* exit)(Handle image, Status status, u64 data_size, Char16* data);
    void* unload_image;
    Status(EFIAPI* exit_boot_services)(Handle image, u64 map_key);
    void* get_next_monotonic_count;
    Status(EFIAPI* stall)(u64 microseconds);
    Status(EFIAPI* set_watchdog_timer)(u64 timeout, u64 code, u64 data_size, const Char16* data);
    void* connect_controller;
    void* disconnect_controller;
    void* open_protocol;
    void* close_protocol;
    void* open_protocol_information;
    void* protocols_per_handle;
    void* locate_handle_buffer;
    Status(EFIAPI* locate_protocol)(const Guid* protocol, void* registration, void** interface);
};
static_assert(offsetof(BootServices, allocate_pages) == 40);
static_assert(offsetof(BootServices, get_memory_map) == 56);
static_assert(offsetof(BootServices, handle_protocol) == 152);
static_assert(offsetof(BootServices, locate_device_path) == 184);
static_assert(offsetof(BootServices, exit) == 216);
static_assert(offsetof(BootServices, exit_boot_services) == 232);
static_assert(offsetof(BootServices, stall) == 248);
static_assert(offsetof(BootServices, set_watchdog_timer) == 256);
static_assert(offsetof(BootServices, locate_protocol) == 320);

struct RuntimeServices {
    TableHeader header;
    void* get_time;
    void* set_time;
    void* get_wakeup_time;
    void* set_wakeup_time;
    void* set_virtual_address_map;
    void* convert_pointer;
    Status(EFIAPI* get_variable)(const Char16* name, const Guid* vendor, u32* attributes, u64* data_size, void* data);
};
static_assert(offsetof(RuntimeServices, get_variable) == 72);

struct ConfigurationTable {
    Guid vendor_guid;
    void* vendor_table;
};
static_assert(sizeof(ConfigurationTable) == 24);

struct SystemTable {
    TableHeader header;
    Char16* firmware_vendor;
    u32 firmware_revision;
    Handle console_in_handle;
    SimpleTextInput* con_in;
    Handle console_out_handle;
    SimpleTextOutput* con_out;
    Handle standard_error_handle;
    SimpleTextOutput* std_err;
    RuntimeServices* runtime_services;
    BootServices* boot_services;
    u64 number_of_table_entries;
    ConfigurationTable* configuration_table;
};
static_assert(offsetof(SystemTable, con_in) == 48);
static_assert(offsetof(SystemTable, con_out) == 64);
static_assert(offsetof(SystemTable, runtime_services) == 88);
static_assert(offsetof(SystemTable, boot_services) == 96);
static_assert(offsetof(SystemTable, configuration_table) == 112);

}
