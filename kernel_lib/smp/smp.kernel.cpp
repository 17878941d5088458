// SMP bring-up (see smp.h): ACPI MADT -> local APIC -> INIT-SIPI-SIPI per core -> the AP
// trampoline (kernel_lib/arch/x86_64/ap_trampoline.asm) -> ap_main -> WorkTeam::serve.
//
// Order, all on the boot core:
//   1. the boot core's PerCpu and GS base; the work team reset;
//   2. the MADT, through the RSDP kernel_lib/smp/acpi_tables.h found (the UEFI loader's or
//      the BIOS areas');
//   3. the local APIC (xAPIC MMIO, or x2APIC when the firmware enabled it), and the
//      wake-up interrupt that ends an idle worker's sleep (not under PVM, see init());
//   4. every AP's stack (64 KiB over a guard page), IST stacks and, under PVM, its own VIF
//      page, all before the first AP runs (protect() changes the shared page tables, and
//      cores already running would not see the change without a TLB flush);
//   5. the trampoline copied to 0x10000 and made read + execute;
//   6. one core at a time: parameters, INIT, 10 ms, STARTUP, 200 us, a second STARTUP if the
//      core has not reached the trampoline, then wait up to a second for ap_main to report
//      it online; then the TSC ping-pong (tsc_sync.h) and its entry into the work loop.
//      A core that fails any step gets an INIT IPI (parked: it cannot wake up later on a
//      stack that is someone else's) and is left out; its index goes to the next core;
//   7. the ready cores become the work team.
#include "kernel_lib/smp/smp.h"

#include <string.h>

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/arch/x86_64/descriptors.h"
#include "kernel_lib/arch/x86_64/pvm.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/mem/kernel_memory.h"
#include "kernel_lib/mem/paging.h"
#include "kernel_lib/smp/acpi.h"
#include "kernel_lib/smp/acpi_tables.h"
#include "kernel_lib/smp/lapic.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/smp/percpu.h"
#include "kernel_lib/smp/tsc_sync.h"
#include "kernel_lib/time/tsc.h"

extern "C" const u8 ap_trampoline_begin[];
extern "C" const u8 ap_trampoline_end[];
extern "C" void ap_long_entry();
extern "C" void smp_idle_halt();
extern "C" void smp_wake_interrupt();
extern "C" void smp_spurious_interrupt();

namespace kl::smp {

u32 mappings_epoch_now();  // parallel.kernel.cpp

namespace {

using mem::page_size;

constexpr u64 ap_stack_bytes = 64 * KiB;
constexpr u64 ist_stack_bytes = 8 * KiB;
constexpr u64 start_timeout_ms = 1000;
constexpr u32 tsc_probe_rounds = 1000;
constexpr u32 msr_gs_base = 0xC0000101;
constexpr u8 startup_vector = boot::ap_trampoline_address >> 12;
constexpr u8 wake_vector = 0xF0;
constexpr u8 spurious_vector = 0xFF;    // lapic.kernel.cpp programs it
// An idle worker sleeps (hlt) after this long without a job: long enough that the jobs of
// one forward pass find it spinning, short enough that a console waiting for keys does not
// keep every core (and, under a hypervisor, a host CPU each) busy.
constexpr u64 idle_sleep_after_us = 1000;
static_assert(boot::ap_trampoline_address % page_size == 0 && boot::ap_trampoline_address < 0x100000);

constexpr u64 cr0_keep = (1u << 0) | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 16) | (1u << 18) | (1u << 31);
constexpr u64 cr0_wp = 1u << 16;
constexpr u64 cr0_need = (1u << 0) | (1u << 31);  // PE, PG
constexpr u64 cr4_pae = 1u << 5;
constexpr u64 cr4_osxsave = 1u << 18;
constexpr u64 cr4_keep = cr4_pae | (1u << 9) | (1u << 10) | cr4_osxsave;  // PAE, OSFXSR, OSXMMEXCPT, OSXSAVE
constexpr u32 efer_lme = 1u << 8;

PerCpu g_cpus[max_cpus];
WorkTeam g_team;
bool g_gs_ready = false;
u32 g_listed = 1;
TscPingPong g_probe;
u64 g_probe_timeout = 0;

// Resources for one listed AP, made before any AP starts (step 4).
struct ApResources {
    u32 apic_id;
    u64 stack_bottom, stack_top;
    u64 vif_page;
    u64 ist_tops[3];
};

unsigned long long ull(u64 v) { return static_cast<unsigned long long>(v); }

void sleep_worker(u32) { smp_idle_halt(); }

void wake_workers(u64 members)
{
    for (u32 i = 1; i < max_cpus; ++i) {
        if (!(members & (1ull << i)))
            continue;
        auto sent = lapic::send_fixed(g_cpus[i].apic_id, wake_vector);
        // A worker that cannot be woken would hang the barrier: better a clear stop.
        if (sent.is_error())
            PANIC("smp: cannot wake core %u (APIC ID %u): %s", i, g_cpus[i].apic_id, sent.error().message());
    }
}

void set_gs_base(PerCpu& c) { x86::wrmsr(msr_gs_base, reinterpret_cast<u64>(&c)); }

ErrorOr<void> allocate_resources(ApResources& r)
{
    auto& frames = mem::frame_allocator();
    u64 base = TRY(frames.allocate(ap_stack_bytes / page_size + 1, page_size, "an AP stack"));
    TRY(mem::protect(base, page_size, mem::Protection::None));  // the guard page
    r.stack_bottom = base + page_size;
    r.stack_top = r.stack_bottom + ap_stack_bytes;
    if (x86::under_pvm()) {
        r.vif_page = TRY(frames.allocate(1, page_size, "an AP's PVM VIF page"));
        memset(reinterpret_cast<void*>(r.vif_page), 0, page_size);
    }
    for (auto& top : r.ist_tops)
        top = reinterpret_cast<u64>(TRY(mem::allocate(ist_stack_bytes, 16, "an AP's IST stack"))) + ist_stack_bytes;
    return {};
}

ApParams& params()
{
    return *reinterpret_cast<ApParams*>(boot::ap_trampoline_address + ap_params_offset);
}

// The parts of ApParams that are the same for every AP.
ErrorOr<void> prepare_trampoline()
{
    u64 size = static_cast<u64>(ap_trampoline_end - ap_trampoline_begin);
    VERIFY(size <= ap_params_offset);
    u64 cr3 = x86::read_cr3();
    if (cr3 >= 4 * GiB)
        return Error::make(ErrorCode::InvalidArgument,
            "the kernel's PML4 is at %#llx, above 4 GiB, where the 32-bit trampoline cannot load it", ull(cr3));
    memcpy(reinterpret_cast<void*>(boot::ap_trampoline_address), ap_trampoline_begin, size);
    TRY(mem::protect(boot::ap_trampoline_address, page_size, mem::Protection::ReadExecute));
    ApParams& p = params();
    memset(&p, 0, sizeof(p));
    u64 cr4 = x86::read_cr4();
    p.cr3 = static_cast<u32>(cr3);
    p.cr4 = static_cast<u32>((cr4 & cr4_keep) | cr4_pae);
    // WP only once in 64-bit code, after the PVM VIF page (see ap_trampoline.asm).
    p.cr0 = static_cast<u32>(((x86::read_cr0() & cr0_keep) | cr0_need) & ~cr0_wp);
    p.efer = efer_lme | static_cast<u32>(x86::rdmsr(x86::MSR_EFER) & x86::EFER_NXE);
    p.entry = reinterpret_cast<u64>(&ap_long_entry);
    // XCR0 like the boot core's; under PVM it is the host's and XSETBV would fault.
    p.xcr0 = ((cr4 & cr4_osxsave) && !x86::under_pvm()) ? x86::xgetbv(0) : 0;
    p.mxcsr = __builtin_ia32_stmxcsr();
    return {};
}

const char* progress_name(u32 progress)
{
    switch (progress) {
    case 0: return "nothing: it never ran the trampoline";
    case 1: return "real mode";
    case 2: return "protected mode";
    case 3: return "long mode";
    case 4: return "the kernel entry";
    default: return "an unknown step";
    }
}

template<typename Predicate>
bool wait_for(u64 timeout_cycles, Predicate done)
{
    u64 start = x86::rdtsc();
    while (!done()) {
        if (x86::rdtsc() - start > timeout_cycles)
            return false;
        x86::pause();
    }
    return true;
}

// Starts the AP with resources `r` as core `index`; true when it is online, measured and
// serving. On failure it has been parked with an INIT IPI and the reason printed.
bool start_core(u32 index, const ApResources& r)
{
    PerCpu& c = g_cpus[index];
    memset(&c, 0, sizeof(c));
    c.self = &c;
    c.index = index;
    c.apic_id = r.apic_id;
    c.stack_bottom = r.stack_bottom;
    c.stack_top = r.stack_top;
    c.vif_page = r.vif_page;
    memcpy(c.ist_tops, r.ist_tops, sizeof(c.ist_tops));
    if (c.vif_page)
        memset(reinterpret_cast<void*>(c.vif_page), 0, page_size);

    ApParams& p = params();
    p.apic_id = r.apic_id;
    p.cpu_index = index;
    p.stack_top = r.stack_top;
    p.vif_page = r.vif_page;
    __atomic_store_n(&p.progress, 0, __ATOMIC_RELEASE);
    tsc_probe_reset(g_probe);

    const u64 ms = time::tsc_hz() / 1000;
    const char* failed = nullptr;
    Error error = Error::make(ErrorCode::Ok, "%s", "");
    u64 start = x86::rdtsc();
    auto init = lapic::send_init(r.apic_id);
    if (init.is_error()) {
        error = init.error();
        failed = "the INIT IPI failed";
    }
    if (!failed) {
        lapic::delay_us(10000);
        auto sipi = lapic::send_startup(r.apic_id, startup_vector);
        lapic::delay_us(200);
        // The second STARTUP of the documented sequence, unless the first one worked.
        if (!sipi.is_error() && __atomic_load_n(&p.progress, __ATOMIC_ACQUIRE) == 0) {
            sipi = lapic::send_startup(r.apic_id, startup_vector);
            lapic::delay_us(200);
        }
        if (sipi.is_error()) {
            error = sipi.error();
            failed = "the STARTUP IPI failed";
        }
    }
    if (!failed && !wait_for(start_timeout_ms * ms, [&] { return __atomic_load_n(&c.online, __ATOMIC_ACQUIRE) != 0; }))
        failed = "did not start";
    c.start_cycles = x86::rdtsc() - start;

    if (!failed) {
        TscOffset offset = tsc_probe_leader(g_probe, tsc_probe_rounds, g_probe_timeout);
        if (!offset.ok)
            failed = "stopped answering during the TSC comparison";
        c.tsc_offset = offset.offset;
        c.tsc_uncertainty = offset.uncertainty;
        c.tsc_round_trip = offset.round_trip;
    }
    if (!failed && !wait_for(start_timeout_ms * ms, [&] { return g_team.ready_workers() >= index; }))
        failed = "did not enter its work loop";
    if (!failed)
        return true;

    (void)lapic::send_init(r.apic_id);  // park it, whatever state it is in
    u32 progress = __atomic_load_n(&p.progress, __ATOMIC_ACQUIRE);
    print("smp: core %u (APIC ID %u) %s within %llu ms (it reached %s)%s%s; continuing without it\n", index,
        r.apic_id, failed, ull(start_timeout_ms), progress_name(progress), error.message()[0] ? ": " : "",
        error.message());
    return false;
}

void print_summary(const char* mode_note)
{
    u32 online = g_team.members();
    print("smp: %u of %u listed cores online (%s at %#llx%s%s)\n", online, g_listed,
        lapic::x2apic_mode() ? "x2APIC" : "xAPIC", ull(lapic::mmio_base()), mode_note[0] ? "; " : "", mode_note);
    u64 per_us = max<u64>(time::tsc_hz() / 1000000, 1);
    u64 slowest_round_trip = 0;
    for (u32 i = 1; i < online; ++i) {
        const PerCpu& c = g_cpus[i];
        print("smp: core %u APIC ID %u: up in %llu us, TSC offset %lld cycles (+-%llu), round trip %llu cycles\n", i,
            c.apic_id, ull(c.start_cycles / per_us), static_cast<long long>(c.tsc_offset), ull(c.tsc_uncertainty),
            ull(c.tsc_round_trip));
        slowest_round_trip = max(slowest_round_trip, c.tsc_round_trip);
    }
    // The shortest of 1000 round trips is a cache-line transfer (well under a microsecond)
    // whenever both cores ran at once even briefly; 100 us means they took turns.
    if (slowest_round_trip > 100 * per_us)
        print("smp: the cores did not run at the same time while starting (a round trip took %llu us at best): "
              "the host is oversubscribed, and parallel_for will wait on its scheduler\n",
            ull(slowest_round_trip / per_us));
}

}

PerCpu& cpu(u32 index) { return g_cpus[index]; }
WorkTeam& team() { return g_team; }
bool per_cpu_ready() { return g_gs_ready; }
u32 cores_listed() { return g_listed; }

CoreInfo core_info(u32 index)
{
    const PerCpu& c = g_cpus[index];
    u64 per_us = time::tsc_hz() / 1000000;
    return { c.apic_id, c.tsc_offset, c.tsc_uncertainty, per_us ? c.start_cycles / per_us : 0 };
}

u64 max_tsc_offset(u64* uncertainty)
{
    u64 worst = 0, worst_uncertainty = 0;
    for (u32 i = 1; i < g_team.members(); ++i) {
        i64 o = g_cpus[i].tsc_offset;
        u64 magnitude = static_cast<u64>(o < 0 ? -o : o);
        if (magnitude >= worst) {
            worst = magnitude;
            worst_uncertainty = g_cpus[i].tsc_uncertainty;
        }
    }
    if (uncertainty)
        *uncertainty = worst_uncertainty;
    return worst;
}

namespace {

// Step 3: the boot core's local APIC and the wake-up and spurious vectors; idle workers
// sleep where the IPI reaches them.
ErrorOr<void> setup_local_apic(const acpi::MadtInfo& info, PerCpu& bsp, char* note, usize note_size)
{
    TRY(lapic::init(info.lapic_address, note, note_size));
    bsp.apic_id = lapic::id();
    arch::set_interrupt_gate(wake_vector, smp_wake_interrupt);
    arch::set_interrupt_gate(spurious_vector, smp_spurious_interrupt);
    // Under PVM a native vCPU gets external interrupts through PVM's own event delivery,
    // not the IDT (measured: a worker in sti; hlt never woke from the IPI), so there idle
    // workers keep spinning.
    if (!x86::under_pvm())
        g_team.set_sleep(sleep_worker, wake_workers, time::tsc_hz() / 1000000 * idle_sleep_after_us);
    return {};
}

// Step 4: every AP's memory, before any of them runs. Returns how many APs got theirs.
u32 allocate_aps(const acpi::MadtInfo& info, u32 bsp_apic_id, ApResources* resources)
{
    u32 aps = 0;
    bool boot_core_listed = false;
    for (u32 i = 0; i < info.processor_count; ++i) {
        u32 id = info.apic_ids[i];
        if (id == bsp_apic_id) {
            boot_core_listed = true;
            continue;
        }
        if (id > 0xFF && !lapic::x2apic_mode()) {
            print("smp: the core with APIC ID %u needs x2APIC mode, which the firmware left off; skipped\n", id);
            continue;
        }
        if (aps + 1 >= max_cpus)
            break;
        ApResources& r = resources[aps];
        r = ApResources {};
        r.apic_id = id;
        auto allocated = allocate_resources(r);
        if (allocated.is_error()) {
            print("smp: no memory to start more cores (%s); continuing with %u\n", allocated.error().message(), aps + 1);
            break;
        }
        ++aps;
    }
    if (!boot_core_listed)
        print("smp: the boot core's APIC ID %u is not in the MADT; starting the %u listed others anyway\n", bsp_apic_id,
            aps);
    return aps;
}

}

void init(const boot::BootInfo&)
{
    static bool done = false;
    VERIFY(!done);
    done = true;

    PerCpu& bsp = g_cpus[0];
    bsp.self = &bsp;
    bsp.index = 0;
    set_gs_base(bsp);
    g_gs_ready = true;
    g_team.init();

    auto rsdp = acpi::machine_rsdp();
    if (rsdp.is_error()) {
        print("smp: %s; running on one core\n", rsdp.error().message());
        return;
    }
    auto madt = acpi::read_madt(acpi::identity_memory(), rsdp.value());
    if (madt.is_error()) {
        print("smp: %s; running on one core\n", madt.error().message());
        return;
    }
    const acpi::MadtInfo& info = madt.value();
    g_listed = info.processor_count;
    if (info.dropped_count)
        print("smp: the MADT lists %u more enabled processors than the %u supported; they stay idle\n",
            info.dropped_count, max_cpus);

    char note[160];
    auto apic = setup_local_apic(info, bsp, note, sizeof(note));
    if (apic.is_error()) {
        print("smp: %s; running on one core\n", apic.error().message());
        return;
    }
    static ApResources resources[max_cpus];
    const u32 aps = allocate_aps(info, bsp.apic_id, resources);
    if (aps == 0) {
        print_summary(note);
        return;
    }
    auto trampoline = prepare_trampoline();
    if (trampoline.is_error()) {
        print("smp: %s; running on one core\n", trampoline.error().message());
        return;
    }

    // Any one answer may take up to start_timeout_ms (what the failure message says): under a
    // busy hypervisor a virtual CPU is descheduled for longer than 100 ms now and then.
    g_probe_timeout = time::tsc_hz() / 1000 * start_timeout_ms;
    u32 online = 1;
    for (u32 k = 0; k < aps; ++k) {
        if (start_core(online, resources[k]))
            ++online;
    }
    u32 members = g_team.admit_ready();
    VERIFY(members == online);
    g_team.set_limit(core_limit());  // a cores=N setting made before init
    print_summary(note);
}

}

// The C++ side of an AP's start (ap_long_entry in ap_trampoline.asm): its own descriptor
// tables, the shared IDT, its GS base; online; the TSC comparison; then the work loop.
extern "C" [[noreturn]] void ap_main(u32 index)
{
    using namespace kl::smp;
    PerCpu& c = g_cpus[index];
    kl::arch::load_cpu_tables(c.tables, c.ist_tops);
    kl::arch::load_idt();
    set_gs_base(c);  // after the GDT load, whose null GS selector may clear the base
    kl::smp::lapic::enable_this_core();
    c.mappings_epoch = mappings_epoch_now();
    __atomic_store_n(&c.online, 1, __ATOMIC_RELEASE);
    if (tsc_probe_follower(g_probe, tsc_probe_rounds, g_probe_timeout))
        g_team.serve(index);
    for (;;)
        kl::x86::hlt();
}
