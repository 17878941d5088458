// GDT, TSS and IDT: the CPU tables the kernel installs for itself.
//
// The GDT holds one 64-bit code and one data segment (ring 0 only; there is no user
// mode) and the TSS, whose interrupt stack table gives the double fault, NMI and machine
// check handlers stacks of their own, so even a stack overflow ends in a report rather than
// a triple fault. The IDT routes every CPU exception (0-31) to the fault handler
// (exceptions.kernel.cpp), the remapped PIC lines (32-47) to a quiet acknowledge, and any
// other vector to an "unexpected interrupt" report.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::arch {

constexpr u16 kernel_code_selector = 0x08;
constexpr u16 kernel_data_selector = 0x10;
constexpr u16 tss_selector = 0x18;

constexpr int ist_double_fault = 1;
constexpr int ist_nmi = 2;
constexpr int ist_machine_check = 3;

// Loads the GDT (reloading every segment register) and the TSS.
void init_gdt();
// Loads the IDT.
void init_idt();

}
