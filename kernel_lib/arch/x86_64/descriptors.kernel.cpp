// GDT/TSS/IDT set-up (see descriptors.h).
#include "kernel_lib/arch/x86_64/descriptors.h"

#include "kernel_lib/arch/x86_64/pvm.h"
#include "kernel_lib/base/error.h"

namespace kl::arch {

namespace {

struct [[gnu::packed]] TablePointer {
    u16 limit;
    u64 base;
};

struct [[gnu::packed]] IdtGate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attributes;
    u16 offset_middle;
    u32 offset_high;
    u32 reserved;
};
static_assert(sizeof(IdtGate) == 16);

constexpr usize ist_stack_bytes = 16 * 1024;

alignas(16) u8 g_ist_stacks[3][ist_stack_bytes];
CpuTables g_boot_tables;
alignas(16) IdtGate g_idt[256];

}

// The interrupt entry stubs (isr.asm): one per vector below 48, one shared by the rest.
extern "C" const u64 isr_stub_table[48];
extern "C" void isr_stub_unexpected();

void load_cpu_tables(CpuTables& tables, const u64 ist_tops[3])
{
    u64* gdt = tables.gdt;
    Tss& tss = tables.tss;
    tss = Tss {};
    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull;  // kernel code, 64-bit
    gdt[2] = 0x00CF92000000FFFFull;  // kernel data
    for (int i = 0; i < 3; ++i)
        tss.ist[i] = ist_tops[i];
    tss.iomap_base = sizeof(Tss);
    u64 base = reinterpret_cast<u64>(&tss);
    u64 limit = sizeof(Tss) - 1;
    gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    gdt[4] = base >> 32;

    TablePointer pointer { sizeof(tables.gdt) - 1, reinterpret_cast<u64>(gdt) };
    asm volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w2, %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"
        "movw %%ax, %%fs\n\t"
        "movw %%ax, %%gs\n\t"
        "ltr %w3"
        :
        : "m"(pointer), "i"(kernel_code_selector), "r"(static_cast<u32>(kernel_data_selector)),
        "r"(static_cast<u32>(tss_selector))
        : "rax", "memory");
}

void init_gdt()
{
    u64 ist_tops[3];
    for (int i = 0; i < 3; ++i)
        ist_tops[i] = reinterpret_cast<u64>(&g_ist_stacks[i][ist_stack_bytes]);
    load_cpu_tables(g_boot_tables, ist_tops);
}

namespace {

void fill_gate(int vector, u64 handler)
{
    IdtGate& gate = g_idt[vector];
    gate.offset_low = handler & 0xFFFF;
    gate.selector = kernel_code_selector;
    gate.ist = vector == 8 ? ist_double_fault : vector == 2 ? ist_nmi : vector == 18 ? ist_machine_check : 0;
    // PVM cannot deliver through IST gates (it escalates to #DF): there a stack
    // overflow ends in a reset rather than a report.
    if (x86::under_pvm())
        gate.ist = 0;
    gate.type_attributes = 0x8E;  // present, ring 0, 64-bit interrupt gate
    gate.offset_middle = (handler >> 16) & 0xFFFF;
    gate.offset_high = static_cast<u32>(handler >> 32);
    gate.reserved = 0;
}

}

void init_idt()
{
    for (int vector = 0; vector < 256; ++vector)
        fill_gate(vector, vector < 48 ? isr_stub_table[vector] : reinterpret_cast<u64>(&isr_stub_unexpected));
    load_idt();
}

void set_interrupt_gate(u8 vector, void (*handler)())
{
    if (vector < 48)
        PANIC("set_interrupt_gate(%u): vectors below 48 belong to the exception and PIC stubs", vector);
    fill_gate(vector, reinterpret_cast<u64>(handler));
}

void load_idt()
{
    TablePointer pointer { sizeof(g_idt) - 1, reinterpret_cast<u64>(g_idt) };
    asm volatile("lidt %0" ::"m"(pointer) : "memory");
}

}
