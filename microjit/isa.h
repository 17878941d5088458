// Which vector ISA the micro-JIT targets, and what else of the CPU it may use.
//
// The ISA levels are kl::cpu::Isa (scalar < sse2 < avx2 < avx512). The JIT needs a few more
// facts than the level (byte ops and VNNI on AVX-512 parts, fast `rep movsb`), so they are
// gathered once into CpuCaps. A process-wide cap (the host tool's --jit-isa, the kernel's
// jit_isa= setting) lowers the target for debugging and comparison; it never raises it:
// an ISA the CPU lacks is never generated for execution.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/cpu/features.h"

namespace mjit {

using kl::cpu::Isa;

struct CpuCaps {
    Isa best = Isa::Scalar;   // highest usable level (CPUID and XCR0 agree)
    bool ssse3 = false;
    bool avx512bw = false;    // byte/word ops on zmm: required by the AVX-512 Q8 kernels
    bool avx512vl = false;
    bool avx512vnni = false;  // vpdpbusd, vpdpwssd: the "vnni" variant of the integer kernels
    bool gfni = false;        // vgf2p8affineqb and vpermb on zmm (GFNI, AVX512_VBMI): the "gfni" variant
    bool f16c = false;        // vcvtph2ps on AVX2 parts: the F16 kernels (AVX-512F has its own)
    bool erms = false;        // enhanced rep movsb
    bool fsrm = false;        // fast short rep movsb
};

// Caps as the JIT sees them (AVX-512 counts only with F, BW and VL all present, since the
// generators mix zmm with EVEX ymm/xmm forms; without them the best level is AVX2).
CpuCaps caps_from(const kl::cpu::Features& features);

// The caps of the CPU we run on (kl::cpu::features()), cached after the first call.
const CpuCaps& host_caps();

// "sse2" | "avx2" | "avx512" (also "scalar" = JIT off, and "native" = no cap).
kl::ErrorOr<Isa> parse_isa(const char* text);

// The process-wide cap; default Isa::Avx512 (no cap). Not thread-safe: set it at start-up.
void set_isa_cap(Isa cap);
Isa isa_cap();

// min(host_caps().best, isa_cap()): the ISA generated kernels target by default.
Isa target_isa();

// Vector width in bytes of an ISA level (16, 32, 64; 0 for scalar).
constexpr u32 vector_bytes(Isa isa)
{
    return isa == Isa::Avx512 ? 64 : isa == Isa::Avx2 ? 32 : isa == Isa::Sse2 ? 16 : 0;
}

}
