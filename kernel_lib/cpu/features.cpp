// CPUID/XCR0 decoding (shared by the kernel and host builds).
#include "kernel_lib/cpu/features.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::cpu {

namespace {

constexpr u64 XCR0_SSE = 1 << 1;
constexpr u64 XCR0_AVX = 1 << 2;
constexpr u64 XCR0_AVX512 = (1 << 5) | (1 << 6) | (1 << 7);

bool bit(u32 value, int index) { return (value >> index) & 1; }

void copy_regs(char* dest, const x86::CpuidResult& r)
{
    const u32 regs[4] = { r.eax, r.ebx, r.ecx, r.edx };
    for (int i = 0; i < 16; ++i)
        dest[i] = static_cast<char>(regs[i / 4] >> (8 * (i % 4)));
}

Features g_features;
bool g_detected = false;

}

const char* isa_name(Isa isa)
{
    switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Sse2: return "sse2";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    }
    return "?";
}

Isa Features::best_isa() const
{
    if (avx512_usable)
        return Isa::Avx512;
    if (avx2_usable)
        return Isa::Avx2;
    if (sse2)
        return Isa::Sse2;
    return Isa::Scalar;
}

namespace {

// Leaf 1: family, model, stepping and the base feature flags.
void read_leaf1(Features& f)
{
    auto l1 = x86::cpuid(1);
    f.stepping = l1.eax & 0xF;
    u32 base_family = (l1.eax >> 8) & 0xF;
    u32 base_model = (l1.eax >> 4) & 0xF;
    f.family = base_family == 0xF ? base_family + ((l1.eax >> 20) & 0xFF) : base_family;
    f.model = (base_family == 0x6 || base_family == 0xF) ? (((l1.eax >> 16) & 0xF) << 4) | base_model : base_model;
    f.tsc = bit(l1.edx, 4);
    f.apic = bit(l1.edx, 9);
    f.sse2 = bit(l1.edx, 26);
    f.sse3 = bit(l1.ecx, 0);
    f.ssse3 = bit(l1.ecx, 9);
    f.fma = bit(l1.ecx, 12);
    f.sse41 = bit(l1.ecx, 19);
    f.sse42 = bit(l1.ecx, 20);
    f.x2apic = bit(l1.ecx, 21);
    f.popcnt = bit(l1.ecx, 23);
    f.xsave = bit(l1.ecx, 26);
    f.osxsave = bit(l1.ecx, 27);
    f.avx = bit(l1.ecx, 28);
    f.f16c = bit(l1.ecx, 29);
    f.hypervisor = bit(l1.ecx, 31);
}

// Leaf 7: AVX2, AVX-512 and the string-move flags.
void read_leaf7(Features& f)
{
    auto l7 = x86::cpuid(7, 0);
    f.bmi1 = bit(l7.ebx, 3);
    f.avx2 = bit(l7.ebx, 5);
    f.bmi2 = bit(l7.ebx, 8);
    f.erms = bit(l7.ebx, 9);
    f.avx512f = bit(l7.ebx, 16);
    f.avx512dq = bit(l7.ebx, 17);
    f.avx512bw = bit(l7.ebx, 30);
    f.avx512vl = bit(l7.ebx, 31);
    f.avx512vbmi = bit(l7.ecx, 1);
    f.gfni = bit(l7.ecx, 8);
    f.avx512vnni = bit(l7.ecx, 11);
    f.fsrm = bit(l7.edx, 4);
}

// Leaves 0x80000002..4: the brand string, without the leading blanks some parts pad it with.
void read_brand(Features& f)
{
    if (f.max_ext_leaf < 0x80000004) {
        const char unknown[] = "unknown x86-64 CPU";
        for (usize i = 0; i < sizeof(unknown); ++i)
            f.brand[i] = unknown[i];
        return;
    }
    copy_regs(f.brand, x86::cpuid(0x80000002));
    copy_regs(f.brand + 16, x86::cpuid(0x80000003));
    copy_regs(f.brand + 32, x86::cpuid(0x80000004));
    f.brand[48] = 0;
    int skip = 0;
    while (f.brand[skip] == ' ')
        ++skip;
    if (skip > 0) {
        int i = 0;
        for (; f.brand[i + skip]; ++i)
            f.brand[i] = f.brand[i + skip];
        f.brand[i] = 0;
    }
}

}

Features detect()
{
    Features f {};
    auto leaf0 = x86::cpuid(0);
    f.max_leaf = leaf0.eax;
    const u32 vendor_regs[3] = { leaf0.ebx, leaf0.edx, leaf0.ecx };
    for (int i = 0; i < 12; ++i)
        f.vendor[i] = static_cast<char>(vendor_regs[i / 4] >> (8 * (i % 4)));
    f.vendor[12] = 0;
    if (f.max_leaf >= 1)
        read_leaf1(f);
    if (f.max_leaf >= 7)
        read_leaf7(f);
    if (f.max_leaf >= 0x15) {
        auto l15 = x86::cpuid(0x15);
        f.tsc_ratio_den = l15.eax;
        f.tsc_ratio_num = l15.ebx;
        f.crystal_hz = l15.ecx;
    }
    if (f.max_leaf >= 0x16)
        f.base_mhz = x86::cpuid(0x16).eax & 0xFFFF;

    f.max_ext_leaf = x86::cpuid(0x80000000).eax;
    if (f.max_ext_leaf >= 0x80000001) {
        auto e1 = x86::cpuid(0x80000001);
        f.nx = bit(e1.edx, 20);
        f.pages_1g = bit(e1.edx, 26);
        f.rdtscp = bit(e1.edx, 27);
        f.long_mode = bit(e1.edx, 29);
    }
    read_brand(f);
    if (f.max_ext_leaf >= 0x80000007)
        f.invariant_tsc = bit(x86::cpuid(0x80000007).edx, 8);

    // The OS side: the vector state the CPU saves (XCR0) decides what is usable.
    f.xcr0 = f.osxsave ? x86::xgetbv(0) : 0;
    f.avx_usable = f.avx && (f.xcr0 & (XCR0_SSE | XCR0_AVX)) == (XCR0_SSE | XCR0_AVX);
    f.avx2_usable = f.avx_usable && f.avx2 && f.fma;
    f.avx512_usable = f.avx2_usable && f.avx512f && (f.xcr0 & XCR0_AVX512) == XCR0_AVX512;
    return f;
}

void refresh()
{
    g_features = detect();
    g_detected = true;
}

const Features& features()
{
    if (!g_detected)
        refresh();
    return g_features;
}

}
