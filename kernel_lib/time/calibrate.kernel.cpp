// TSC frequency in the kernel, from the first source that gives it, in this order:
//   pvm-msr          under PVM, the host's TSC frequency MSR;
//   cpuid-15h        CPUID 15h's crystal clock and TSC ratio;
//   cpuid-15h/16h    15h's ratio without a crystal: the TSC runs at 16h's base frequency;
//   hypervisor-leaf  the hypervisor's timing leaf (0x40000010);
//   acpi-pm-timer    measured against the ACPI PM timer (3.579545 MHz, from the FADT);
//   hpet             measured against the HPET;
//   pit              measured against the PIT (channel 2);
//   cpuid-16h        16h's nominal base frequency, unmeasured.
// The PIT comes after the ACPI clocks because some UEFI machines gate or lack it. Each
// measurement is the median of five 10 ms windows, each started on a tick edge of the
// reference clock, so a window that an SMI or a hypervisor stretched does not decide it.
#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/arch/x86_64/pic.h"
#include "kernel_lib/arch/x86_64/pvm.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/smp/acpi_tables.h"
#include "kernel_lib/time/tsc.h"

namespace kl::time {

namespace {

u64 g_hz = 0;
const char* g_source = "none";

constexpr u64 window_ms = 10;
constexpr u64 give_up_cycles = 10'000'000'000ull;  // seconds on any machine: a dead clock

// A reference clock: a free-running counter of `hz` ticks per second, `mask` wide.
struct Clock {
    u64 (*read)(u64 where);
    u64 where;  // port or register address
    u64 mask;
    u64 hz;
};

u64 read_pm_timer(u64 port) { return x86::inl(static_cast<u16>(port)); }
u64 read_hpet_counter(u64 counter) { return *reinterpret_cast<volatile const u64*>(counter); }

// TSC Hz over one window: wait for a tick edge, then count TSC cycles until `ticks` more
// have passed. 0 when the clock does not move.
u64 one_window(const Clock& c, u64 ticks)
{
    u64 limit = x86::rdtsc() + give_up_cycles;
    u64 first = c.read(c.where) & c.mask, start;
    while ((start = c.read(c.where) & c.mask) == first) {
        if (x86::rdtsc() > limit)
            return 0;
    }
    u64 tsc_start = x86::rdtsc_begin(), elapsed;
    do {
        elapsed = ((c.read(c.where) & c.mask) - start) & c.mask;
        if (x86::rdtsc() > limit)
            return 0;
    } while (elapsed < ticks);
    u64 cycles = x86::rdtsc_end() - tsc_start;
    return static_cast<u64>(static_cast<double>(cycles) * static_cast<double>(c.hz) / static_cast<double>(elapsed));
}

u64 measure(const Clock& c)
{
    u64 samples[5];
    for (u64& s : samples) {
        s = one_window(c, c.hz * window_ms / 1000);
        if (s == 0)
            return 0;
    }
    for (int i = 1; i < 5; ++i)  // insertion sort, for the median
        for (int j = i; j > 0 && samples[j] < samples[j - 1]; --j) {
            u64 t = samples[j];
            samples[j] = samples[j - 1];
            samples[j - 1] = t;
        }
    return samples[2];
}

u64 measure_pm_timer(u64 rsdp)
{
    auto timer = acpi::read_pm_timer(acpi::identity_memory(), rsdp);
    if (timer.is_error())
        return 0;
    return measure({ read_pm_timer, timer.value().port, timer.value().wide ? 0xFFFFFFFFull : 0xFFFFFFull,
        acpi::pm_timer_hz });
}

// HPET registers: capabilities (period in femtoseconds in the upper half, bit 13 a 64-bit
// counter), configuration (bit 0 starts the counter), the main counter.
u64 measure_hpet(u64 rsdp)
{
    constexpr u64 capabilities = 0x0, configuration = 0x10, main_counter = 0xF0, femtoseconds = 1'000'000'000'000'000ull;
    auto base = acpi::read_hpet_address(acpi::identity_memory(), rsdp);
    if (base.is_error())
        return 0;
    auto reg = [&](u64 offset) { return reinterpret_cast<volatile u64*>(base.value() + offset); };
    u64 caps = *reg(capabilities);
    u64 period = caps >> 32;
    if (period == 0 || period > 100'000'000)  // the specification's limit: 100 ns
        return 0;
    *reg(configuration) = *reg(configuration) | 1;
    return measure({ read_hpet_counter, base.value() + main_counter, (caps & (1u << 13)) ? ~0ull : 0xFFFFFFFFull,
        femtoseconds / period });
}

// The PIT's own measurement: a window ends on the terminal count, so it only ever
// stretches, and the shortest of five is the truest.
u64 measure_pit()
{
    u64 cycles = 0;
    for (int i = 0; i < 5; ++i) {
        u64 sample = arch::pit_measure_tsc(10000);
        if (sample != 0 && (cycles == 0 || sample < cycles))
            cycles = sample;
    }
    return cycles * 100;
}

bool found(u64 hz, const char* source)
{
    if (hz == 0)
        return false;
    g_hz = hz;
    g_source = source;
    return true;
}

void calibrate()
{
    const auto& f = cpu::features();
    // Port I/O traps to the host under PVM (tens of microseconds each), which would blur a
    // measurement; the host states its TSC frequency instead.
    if (x86::under_pvm() && found(pvm_tsc_khz() * 1000, "pvm-msr"))
        return;
    if (f.tsc_ratio_den && f.tsc_ratio_num && f.crystal_hz &&
        found(static_cast<u64>(f.crystal_hz) * f.tsc_ratio_num / f.tsc_ratio_den, "cpuid-15h"))
        return;
    if (f.tsc_ratio_den && f.tsc_ratio_num && f.base_mhz && found(static_cast<u64>(f.base_mhz) * 1000000, "cpuid-15h/16h"))
        return;
    if (f.hypervisor && x86::cpuid(0x40000000).eax >= 0x40000010 &&
        found(static_cast<u64>(x86::cpuid(0x40000010).eax) * 1000, "hypervisor-leaf"))
        return;
    if (found(measure_tsc_hz(TscReference::AcpiPmTimer), "acpi-pm-timer") ||
        found(measure_tsc_hz(TscReference::Hpet), "hpet") || found(measure_tsc_hz(TscReference::Pit), "pit"))
        return;
    if (!found(static_cast<u64>(f.base_mhz) * 1000000, "cpuid-16h"))
        found(2000000000ull, "assumed-2GHz");
}

}

u64 measure_tsc_hz(TscReference reference)
{
    if (reference == TscReference::Pit)
        return measure_pit();
    auto rsdp = acpi::machine_rsdp();
    if (rsdp.is_error())
        return 0;
    return reference == TscReference::Hpet ? measure_hpet(rsdp.value()) : measure_pm_timer(rsdp.value());
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
