// TSC frequency in the kernel: under PVM the host's MSR; CPUID 15h when it states it, else
// the hypervisor's timing
// leaf (0x40000010), else measured against the PIT (the shortest of five 10 ms windows:
// a window only ever stretches, when an SMI or a hypervisor takes the CPU away), with
// CPUID 16h's nominal base frequency as the last resort.
#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/arch/x86_64/pic.h"
#include "kernel_lib/arch/x86_64/pvm.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/time/tsc.h"

namespace kl::time {

namespace {

u64 g_hz = 0;
const char* g_source = "none";


void calibrate()
{
    const auto& f = cpu::features();
    if (x86::under_pvm()) {
        // Port I/O traps to the host under PVM (tens of microseconds each), which would blur
        // a PIT measurement; the host states its TSC frequency instead.
        u64 khz = pvm_tsc_khz();
        if (khz != 0) {
            g_hz = khz * 1000;
            g_source = "pvm-msr";
            return;
        }
    }
    if (f.tsc_ratio_den && f.tsc_ratio_num && f.crystal_hz) {
        g_hz = static_cast<u64>(f.crystal_hz) * f.tsc_ratio_num / f.tsc_ratio_den;
        g_source = "cpuid-15h";
        return;
    }
    if (f.hypervisor && x86::cpuid(0x40000000).eax >= 0x40000010) {
        u32 khz = x86::cpuid(0x40000010).eax;
        if (khz != 0) {
            g_hz = static_cast<u64>(khz) * 1000;
            g_source = "hypervisor-leaf";
            return;
        }
    }
    u64 cycles = 0;
    for (int i = 0; i < 5; ++i) {
        u64 sample = arch::pit_measure_tsc(10000);
        if (sample != 0 && (cycles == 0 || sample < cycles))
            cycles = sample;
    }
    if (cycles != 0) {
        g_hz = cycles * 100;
        g_source = "pit";
        return;
    }
    g_hz = f.base_mhz ? static_cast<u64>(f.base_mhz) * 1000000 : 2000000000ull;
    g_source = f.base_mhz ? "cpuid-16h" : "assumed-2GHz";
}

}

u64 tsc_hz()
{
    if (g_hz == 0)
        calibrate();
    return g_hz;
}

const char* tsc_source()
{
    tsc_hz();
    return g_source;
}

}
