// Per-CPU data of the kernel's cores, and the AP start parameters (kernel only).
//
// Each core has a PerCpu whose address is its GS base (IA32_GS_BASE, written once per
// core: a trapping WRMSR under PVM, but only at start), so current_cpu() is one GS-relative
// load. Index 0 is the boot processor (BSP); 1.. are the application processors (APs) in
// the order they came up, so the online cores are always 0..n-1.
#pragma once

#include <stddef.h>

#include "kernel_lib/arch/x86_64/descriptors.h"
#include "kernel_lib/base/types.h"
#include "kernel_lib/smp/work_team.h"

namespace kl::smp {

constexpr u32 max_cpus = WorkTeam::max_members;

struct alignas(64) PerCpu {
    PerCpu* self;               // GS:0
    u32 index;                  // GS:8, read by current_cpu()
    u32 apic_id;
    u64 stack_bottom;           // [stack_bottom, stack_top): the AP's stack (guard page below)
    u64 stack_top;
    u64 vif_page;               // PVM only: this core's VIF page
    u64 ist_tops[3];            // double fault, NMI, machine check
    u32 online;                 // set by the AP in ap_main (release)
    u32 mappings_epoch;         // the kl::smp::mappings_changed() count this core has applied
    i64 tsc_offset;             // this core's TSC minus the BSP's, cycles
    u64 tsc_uncertainty;        // the measurement's half-width, cycles
    u64 tsc_round_trip;         // shortest BSP -> AP -> BSP cache-line round trip, cycles
    u64 start_cycles;           // INIT IPI to online, BSP cycles
    arch::CpuTables tables;     // this core's GDT and TSS
};
static_assert(offsetof(PerCpu, self) == 0);
static_assert(offsetof(PerCpu, index) == 8);

// The AP start parameters at AP_TRAMPOLINE_ADDR + 0x1000 (the ApParams struc of
// kernel_lib/arch/x86_64/ap_trampoline.asm, which checks its size is 64).
struct ApParams {  // naturally aligned: no padding, as the asserts pin
    u32 cr3;
    u32 cr4;
    u32 cr0;
    u32 efer;
    u32 apic_id;
    u32 cpu_index;
    u64 entry;
    u64 stack_top;
    u64 vif_page;
    u64 xcr0;
    u32 mxcsr;
    u32 progress;
};
static_assert(sizeof(ApParams) == 64);
static_assert(offsetof(ApParams, apic_id) == 16);
static_assert(offsetof(ApParams, entry) == 24);
static_assert(offsetof(ApParams, stack_top) == 32);
static_assert(offsetof(ApParams, vif_page) == 40);
static_assert(offsetof(ApParams, xcr0) == 48);
static_assert(offsetof(ApParams, mxcsr) == 56);
static_assert(offsetof(ApParams, progress) == 60);

constexpr u64 ap_params_offset = 0x1000;  // from the trampoline's start

// The cores (index 0..max_cpus-1; only 0..cores_online()-1 are in use) and the team that
// runs parallel_for on them (smp.kernel.cpp).
PerCpu& cpu(u32 index);
WorkTeam& team();
// Whether the calling core's GS base points at its PerCpu yet.
bool per_cpu_ready();

}
