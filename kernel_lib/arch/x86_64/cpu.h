// The x86-64 instructions BareFlow uses directly, one inline function each.
//
// This is the only header with inline asm (house style). Everything here is usable on the
// host too except what needs ring 0 (port I/O, MSRs, control registers, hlt/cli).
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::x86 {

struct CpuidResult {
    u32 eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(u32 leaf, u32 subleaf = 0)
{
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

// XGETBV(0): the OS-enabled state components; only valid when CPUID.1:ECX.OSXSAVE is set.
inline u64 xgetbv(u32 index)
{
    u32 lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
    return (static_cast<u64>(hi) << 32) | lo;
}

inline void xsetbv(u32 index, u64 value)
{
    asm volatile("xsetbv" ::"c"(index), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32)));
}

// Plain TSC read; use the fenced pair below to time a region.
inline u64 rdtsc()
{
    u32 lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<u64>(hi) << 32) | lo;
}

// Start of a timed region: lfence keeps earlier instructions from drifting past the read.
inline u64 rdtsc_begin()
{
    u32 lo, hi;
    asm volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (static_cast<u64>(hi) << 32) | lo;
}

// End of a timed region: rdtscp waits for earlier instructions, lfence keeps later ones
// from starting before the read.
inline u64 rdtsc_end()
{
    u32 lo, hi, aux;
    asm volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
    return (static_cast<u64>(hi) << 32) | lo;
}

inline void pause() { asm volatile("pause"); }

// ---- ring 0 only ---------------------------------------------------------------------

inline void outb(u16 port, u8 value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
inline void outw(u16 port, u16 value) { asm volatile("outw %0, %1" ::"a"(value), "Nd"(port)); }
inline void outl(u16 port, u32 value) { asm volatile("outl %0, %1" ::"a"(value), "Nd"(port)); }
inline u8 inb(u16 port)
{
    u8 value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
inline u16 inw(u16 port)
{
    u16 value;
    asm volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
inline u32 inl(u16 port)
{
    u32 value;
    asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
// A write to an unused port: ~1 us of delay for slow devices (PIC, PIT).
inline void io_wait() { outb(0x80, 0); }

inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<u64>(hi) << 32) | lo;
}
inline void wrmsr(u32 msr, u64 value)
{
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32)));
}

inline u64 read_cr0() { u64 v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
inline u64 read_cr2() { u64 v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline u64 read_cr3() { u64 v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
inline u64 read_cr4() { u64 v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr0(u64 v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
inline void write_cr3(u64 v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline void write_cr4(u64 v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
inline void invlpg(u64 address) { asm volatile("invlpg (%0)" ::"r"(address) : "memory"); }

inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void hlt() { asm volatile("hlt"); }
inline u64 read_rflags()
{
    u64 v;
    asm volatile("pushfq\n\tpopq %0" : "=r"(v));
    return v;
}

constexpr u32 MSR_EFER = 0xC0000080;
constexpr u64 EFER_NXE = 1ull << 11;

}
