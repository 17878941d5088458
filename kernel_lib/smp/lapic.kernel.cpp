// Local APIC access for SMP start-up (see lapic.h).
#include "kernel_lib/smp/lapic.h"

#include <stdio.h>

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/time/tsc.h"

// The EOI register for the wake-up interrupt stub (kernel_lib/smp/idle.asm); 0 = x2APIC.
extern "C" u64 smp_lapic_eoi;

namespace kl::smp::lapic {

namespace {

constexpr u32 msr_apic_base = 0x1B;
constexpr u64 apic_base_enable = 1ull << 11;
constexpr u64 apic_base_x2apic = 1ull << 10;
constexpr u64 apic_base_address_mask = 0x000FFFFFFFFFF000ull;
constexpr u32 msr_x2apic_first = 0x800;  // x2APIC register n is MSR 0x800 + (xAPIC offset >> 4)

constexpr u32 reg_id = 0x20;
constexpr u32 reg_spurious = 0xF0;
constexpr u32 reg_icr_low = 0x300;
constexpr u32 reg_icr_high = 0x310;

constexpr u32 spurious_enable = 1u << 8;
constexpr u32 spurious_vector = 0xFF;
constexpr u32 icr_delivery_pending = 1u << 12;
constexpr u32 icr_init = 5u << 8;
constexpr u32 icr_startup = 6u << 8;
constexpr u32 icr_level_assert = 1u << 14;

constexpr u32 reg_eoi = 0xB0;

bool g_x2apic = false;
u64 g_base = 0;

u32 read(u32 reg)
{
    if (g_x2apic)
        return static_cast<u32>(x86::rdmsr(msr_x2apic_first + (reg >> 4)));
    return *reinterpret_cast<volatile u32*>(g_base + reg);
}

void write(u32 reg, u32 value)
{
    if (g_x2apic)
        x86::wrmsr(msr_x2apic_first + (reg >> 4), value);
    else
        *reinterpret_cast<volatile u32*>(g_base + reg) = value;
}

ErrorOr<void> wait_idle()
{
    if (g_x2apic)
        return {};  // x2APIC has no delivery status: a WRMSR to the ICR is the send
    u64 limit = time::tsc_hz() / 10;  // 100 ms
    u64 start = x86::rdtsc();
    while (read(reg_icr_low) & icr_delivery_pending) {
        if (x86::rdtsc() - start > limit)
            return Error::make(ErrorCode::InvalidArgument,
                "the local APIC did not deliver an IPI within 100 ms (ICR %#x)", read(reg_icr_low));
        x86::pause();
    }
    return {};
}

ErrorOr<void> send(u32 apic_id, u32 command)
{
    TRY(wait_idle());
    if (g_x2apic) {
        x86::wrmsr(msr_x2apic_first + (reg_icr_low >> 4), (static_cast<u64>(apic_id) << 32) | command);
        return {};
    }
    write(reg_icr_high, apic_id << 24);
    write(reg_icr_low, command);
    return wait_idle();
}

}

ErrorOr<void> init(u64 madt_address, char* note, usize note_size)
{
    if (note_size)
        note[0] = 0;
    auto leaf1 = x86::cpuid(1);
    if (!(leaf1.edx & (1u << 9)))
        return Error::make(ErrorCode::InvalidArgument, "CPUID reports no local APIC");
    u64 base = x86::rdmsr(msr_apic_base);
    if (!(base & apic_base_enable)) {
        // Disabled by firmware; enabling it again is allowed while not in x2APIC mode.
        base |= apic_base_enable;
        x86::wrmsr(msr_apic_base, base);
    }
    g_x2apic = (base & apic_base_x2apic) != 0;
    g_base = base & apic_base_address_mask;
    if (!g_x2apic && g_base != madt_address && note_size)
        snprintf(note, note_size, "the MADT says the local APIC is at %#llx, IA32_APIC_BASE says %#llx (used)",
            static_cast<unsigned long long>(madt_address), static_cast<unsigned long long>(g_base));
    write(reg_spurious, (read(reg_spurious) & ~0xFFu) | spurious_enable | spurious_vector);
    smp_lapic_eoi = g_x2apic ? 0 : g_base + reg_eoi;
    return {};
}

void enable_this_core()
{
    u64 base = x86::rdmsr(msr_apic_base);
    u64 want = base | apic_base_enable | (g_x2apic ? apic_base_x2apic : 0);
    if (want != base) {
        // xAPIC -> x2APIC goes through "enabled" first (SDM: the two bits change in order).
        x86::wrmsr(msr_apic_base, base | apic_base_enable);
        x86::wrmsr(msr_apic_base, want);
    }
    write(reg_spurious, (read(reg_spurious) & ~0xFFu) | spurious_enable | spurious_vector);
}

bool x2apic_mode() { return g_x2apic; }
u64 mmio_base() { return g_base; }

u32 id()
{
    u32 value = read(reg_id);
    return g_x2apic ? value : value >> 24;
}

ErrorOr<void> send_init(u32 apic_id) { return send(apic_id, icr_init | icr_level_assert); }

ErrorOr<void> send_startup(u32 apic_id, u8 vector)
{
    return send(apic_id, icr_startup | icr_level_assert | vector);
}

ErrorOr<void> send_fixed(u32 apic_id, u8 vector) { return send(apic_id, icr_level_assert | vector); }

void delay_us(u64 microseconds)
{
    u64 cycles = time::tsc_hz() / 1000000 * microseconds;
    u64 start = x86::rdtsc();
    while (x86::rdtsc() - start < cycles)
        x86::pause();
}

}
