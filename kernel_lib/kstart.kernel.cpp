// kernel_start: the C++ side of the kernel entry (after kernel_lib/arch/x86_64/entry.asm).
//
// Brings up what every later step relies on, in this order, then hands over to kmain()
// (the application, tinyllama/kernel_app/kmain.kernel.cpp) and never returns:
//   1. serial and screen output (the framebuffer the UEFI loader handed over, else VGA text),
//      so every later failure can be reported;
//   2. GDT/TSS and IDT, so a CPU exception becomes a report instead of a triple fault;
//   3. the PICs remapped and masked (BareFlow polls its devices);
//   4. the BootInfo check (stage2 and kernel from the same build);
//   5. the symbol table payload, for fault reports with function names;
//   6. CPU features (CPUID + the XCR0 the entry code set);
//   7. the stack protector's canary from the TSC;
//   8. memory: physical map, frame allocator, the kernel's page tables, heap, code arena;
//   9. where the ACPI tables are (the RSDP from BootInfo or the BIOS areas): TSC calibration
//      and SMP read them;
//  10. SMP: the other cores started and polling for parallel_for jobs (needs memory and the
//      IDT; never fails, at worst the kernel runs on the boot core alone);
//  11. kmain.
#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/arch/x86_64/descriptors.h"
#include "kernel_lib/arch/x86_64/pic.h"
#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/debug/symbols.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/mem/kernel_memory.h"
#include "kernel_lib/debug/report.h"
#include "kernel_lib/smp/acpi_tables.h"
#include "kernel_lib/smp/smp.h"

// The application's entry, defined outside kernel_lib.
[[noreturn]] void kmain(const kl::boot::BootInfo& info);

namespace {

void load_symbols(const kl::boot::BootInfo& info)
{
    auto payload = kl::boot::find_payload(info, "ksyms");
    if (payload.is_error())
        return;  // fault reports then show bare addresses
    if (kl::boot::verify_payload(payload.value()).is_error())
        return;
    kl::debug::kernel_symbols().load(payload.value().data, payload.value().size);
}

}

// Never returns; the canary set here must not be checked on the way out of this frame.
extern "C" [[noreturn]] __attribute__((no_stack_protector)) void kernel_start(const kl::boot::BootInfo* info)
{
    kl::serial::init();
    kl::vga::init(*info);
    kl::arch::init_gdt();
    kl::arch::init_idt();
    kl::arch::init_pic();

    auto valid = kl::boot::validate_bootinfo(*info);
    if (valid.is_error())
        kl::fail(valid.error());
    load_symbols(*info);
    kl::cpu::refresh();
    auto memory = kl::mem::init_memory(*info);
    if (memory.is_error())
        kl::fail(memory.error());
    kl::acpi::init(*info);
    kl::smp::init(*info);

    kmain(*info);
}
