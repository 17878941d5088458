// kernel_start: the C++ side of the kernel entry (after kernel_lib/arch/x86_64/entry.asm).
//
// Brings up what every later step relies on, in this order, then hands over to kmain()
// (the application, tinyllama/app/kmain.kernel.cpp) and never returns:
//   1. serial and VGA output, so every later failure can be reported;
//   2. the BootInfo check (stage2 and kernel from the same build);
//   3. CPU features (CPUID + the XCR0 the entry code set);
//   4. kmain.
#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/io/machine.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/platform/report.h"

// The application's entry, defined outside kernel_lib.
[[noreturn]] void kmain(const kl::boot::BootInfo& info);

extern "C" [[noreturn]] void kernel_start(const kl::boot::BootInfo* info)
{
    kl::serial::init();
    kl::vga::init();

    auto valid = kl::boot::validate_bootinfo(*info);
    if (valid.is_error())
        kl::fail(valid.error());

    kl::cpu::refresh();

    kmain(*info);
}
