// Machine exit, halt and reboot (see machine.h).
#include "kernel_lib/io/machine.h"

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/io/vga.h"

namespace kl::machine {

void halt_forever()
{
    for (;;) {
        x86::cli();
        x86::hlt();
    }
}

void exit(int status)
{
    print("@exit %d\n", status);
    x86::outl(0xF4, static_cast<u32>(status));
    print("BareFlow halted (status %d); it is safe to switch the machine off.\n", status);
    vga::sync_cursor();
    halt_forever();
}

void reboot()
{
    x86::cli();
    for (int i = 0; i < 100000 && (x86::inb(0x64) & 2); ++i)
        x86::pause();
    x86::outb(0x64, 0xFE);  // pulse the CPU reset line
    // Still here: load an empty IDT and fault, which triple-faults into a reset.
    struct [[gnu::packed]] {
        u16 limit;
        u64 base;
    } empty_idt { 0, 0 };
    asm volatile("lidt %0\n\tint3" ::"m"(empty_idt));
    halt_forever();
}

}
