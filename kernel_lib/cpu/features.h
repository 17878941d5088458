// What this CPU can do, read once from CPUID and XCR0: the one struct the rest reads.
//
// A vector ISA counts as usable only when CPUID reports it AND the OS has enabled its
// register state in XCR0 (the kernel enables it at entry, kernel_lib/arch/x86_64/entry.asm;
// on the host, Linux does). `best_isa` is what the micro-JIT targets by default.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::cpu {

enum class Isa : u8 { Scalar = 0, Sse2 = 1, Avx2 = 2, Avx512 = 3 };

const char* isa_name(Isa isa);  // "scalar", "sse2", "avx2", "avx512"

struct Features {
    char vendor[13];
    char brand[49];
    u32 family, model, stepping;

    bool sse2, sse3, ssse3, sse41, sse42, popcnt;
    bool avx, avx2, fma, f16c, bmi1, bmi2;
    bool avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512vbmi, gfni;
    bool xsave, osxsave;
    bool erms, fsrm;
    bool invariant_tsc, rdtscp, tsc;
    bool nx, pages_1g, long_mode, apic, x2apic;
    bool hypervisor;

    // XCR0 as read (0 without OSXSAVE); the usable flags below account for it.
    u64 xcr0;
    bool avx_usable;     // AVX + FMA-era state (XMM|YMM) enabled
    bool avx2_usable;    // avx2 && fma && avx_usable
    bool avx512_usable;  // avx512f && opmask/ZMM state enabled

    u32 max_leaf, max_ext_leaf;
    // CPUID 15h/16h facts for TSC calibration (0 when not reported).
    u32 tsc_ratio_den, tsc_ratio_num, crystal_hz, base_mhz;

    Isa best_isa() const;
};

// Reads CPUID/XCR0 now (cheap; call after the kernel has set XCR0).
Features detect();

// The process-wide copy: filled by the first call of refresh(), read-only afterwards.
const Features& features();
void refresh();

}
