// The loader's console (see console.efi.h).
#include "boot/uefi/console.efi.h"

#include <stdarg.h>
#include <string.h>

#include "boot/uefi/disk_layout.h"
#include "boot/uefi/firmware.efi.h"
#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/libc/format.h"
#include "kernel_lib/text/json.h"

namespace uefi::console {

using namespace kl;

namespace {

constexpr u16 qemu_exit_port = 0xF4;
constexpr u64 progress_min_bytes = 16 * MiB;  // stage2's threshold
constexpr usize console_variable_bytes = 1024;

bool g_serial_direct = false;
int g_last_percent = -1;

// Whether the firmware console (the ConOut variable: one device path per output) reaches a
// serial port already.
bool firmware_console_has_serial()
{
    static const char16_t name[] = u"ConOut";
    u8 paths[console_variable_bytes];
    u64 size = sizeof(paths);
    u32 attributes = 0;
    auto* runtime = firmware::system_table()->runtime_services;
    if (efi::failed(runtime->get_variable(name, &efi::global_variable, &attributes, &size, paths)))
        return false;
    return device_path_has_uart(paths, size);
}

// ASCII to the firmware's UCS-2, a chunk at a time, LF becoming CR LF.
void firmware_write(const char* bytes, usize length)
{
    if (!firmware::boot_services_active())
        return;
    efi::SimpleTextOutput* out = firmware::system_table()->con_out;
    char16_t chunk[128];
    usize used = 0;
    for (usize i = 0; i <= length; ++i) {
        if (i == length || used + 3 > sizeof(chunk) / sizeof(chunk[0])) {
            chunk[used] = 0;
            out->output_string(out, chunk);
            used = 0;
            if (i == length)
                return;
        }
        if (bytes[i] == '\n')
            chunk[used++] = u'\r';
        chunk[used++] = static_cast<u8>(bytes[i]);
    }
}

void serial_write(const char* bytes, usize length)
{
    if (g_serial_direct || !firmware::boot_services_active())
        serial::write(bytes, length);
}

void write_bytes(void*, const char* bytes, usize length)
{
    firmware_write(bytes, length);
    serial_write(bytes, length);
}

}

void init()
{
    serial::set_crlf(true);
    g_serial_direct = !firmware_console_has_serial();
    if (g_serial_direct)
        serial::init();
}

void boot_services_ended()
{
    if (!g_serial_direct)
        serial::init();
}

void write(const char* text) { write_bytes(nullptr, text, strlen(text)); }

void print(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    kl::vformat(write_bytes, nullptr, fmt, args);
    va_end(args);
}

void progress(u64 done, u64 total)
{
    if (total < progress_min_bytes)
        return;
    int percent = static_cast<int>(done * 100 / total);
    if (percent == g_last_percent)
        return;
    g_last_percent = percent;
    char text[48];
    kl::snprintf(text, sizeof(text), "\rloading payloads: %d%%%s", percent, done == total ? "\n" : "");
    firmware_write(text, strlen(text));
    if (percent % 10 == 0) {
        kl::snprintf(text, sizeof(text), "%d%% %s", percent, done == total ? "\n" : "");
        serial_write(text, strlen(text));
    }
}

void report(const Error& error)
{
    char escaped[Error::max_message * 6 + 1];
    json_escape(error.message(), escaped, sizeof(escaped));
    print("\nBareFlow error (%s): uefi: %s\n", error.code_name(), error.message());
    // Separate lines: the firmware console may put escape sequences before a new line's text.
    print("@error {\"code\": \"%s\", \"number\": %d, \"message\": \"uefi: %s\"}\n", error.code_name(),
        error.exit_status(), escaped);
    print("@exit %d\n", error.exit_status());
    x86::outl(qemu_exit_port, static_cast<u32>(error.exit_status()));
}

void wait_for_key(u32 seconds)
{
    if (!firmware::boot_services_active())
        return;
    write("Press a key to return to the firmware's boot menu.\n");
    efi::SimpleTextInput* in = firmware::system_table()->con_in;
    for (u32 tick = 0; tick < seconds * 100; ++tick) {
        efi::InputKey key;
        if (in && in->read_key_stroke(in, &key) == efi::success)
            return;
        firmware::boot_services()->stall(10000);
    }
}

}
