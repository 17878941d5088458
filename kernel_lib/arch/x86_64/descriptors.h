// GDT, TSS and IDT: the CPU tables the kernel installs for itself.
//
// The GDT holds one 64-bit code and one data segment (ring 0 only; there is no user
// mode) and the TSS, whose interrupt stack table gives the double fault, NMI and machine
// check handlers stacks of their own, so even a stack overflow ends in a report rather than
// a triple fault. The IDT routes every CPU exception (0-31) to the fault handler
// (exceptions.kernel.cpp), the remapped PIC lines (32-47) to a quiet acknowledge, and any
// other vector to an "unexpected interrupt" report.
//
// Every CPU has a GDT and TSS of its own (a TSS descriptor is marked busy by the LTR that
// loads it, and each CPU needs its own IST stacks); the boot CPU's are static here, the
// application processors' are made by kl::smp (kernel_lib/smp/smp.kernel.cpp). All CPUs
// share the one IDT.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::arch {

constexpr u16 kernel_code_selector = 0x08;
constexpr u16 kernel_data_selector = 0x10;
constexpr u16 tss_selector = 0x18;

constexpr int ist_double_fault = 1;
constexpr int ist_nmi = 2;
constexpr int ist_machine_check = 3;

struct [[gnu::packed]] Tss {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
};
static_assert(sizeof(Tss) == 104);

// One CPU's descriptor tables: null, code, data, and the 16-byte TSS descriptor.
struct CpuTables {
    alignas(16) u64 gdt[5];
    Tss tss;
};

// Fills `tables` (the IST stacks given by their top addresses: double fault, NMI, machine
// check) and loads them on the calling CPU: the GDT, every segment register, the TSS.
void load_cpu_tables(CpuTables& tables, const u64 ist_tops[3]);

// The boot CPU's tables (static), loaded with load_cpu_tables.
void init_gdt();
// Builds the IDT and loads it.
void init_idt();
// Loads the IDT init_idt built, on an application processor.
void load_idt();
// Points `vector` (>= 48, after init_idt) at `handler`, an interrupt gate on the current
// stack; every CPU sees it at once (they share the IDT).
void set_interrupt_gate(u8 vector, void (*handler)());

}
