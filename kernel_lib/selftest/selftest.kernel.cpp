// Kernel self-tests (see selftest.h). Each test prints "selftest NAME: ok" or the failure.
#include "kernel_lib/selftest/selftest.h"

#include <stdio.h>

#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/debug/fault_guard.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/libm/math.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/mem/code_arena.h"
#include "kernel_lib/mem/kernel_memory.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/smp/smp.h"
#include "kernel_lib/time/tsc.h"

#include <stdlib.h>
#include <string.h>

namespace kl::selftest {

namespace {

struct Result {
    int passed = 0;
    int failed = 0;
};

void report(Result& r, const char* name, bool ok, const char* detail)
{
    if (ok)
        ++r.passed;
    else
        ++r.failed;
    kl::print("selftest %-12s %s%s%s\n", name, ok ? "ok" : "FAILED", detail[0] ? ": " : "", detail);
}

void execute_ud2(void*) { __builtin_trap(); }

void read_address(void* address) { (void)*static_cast<volatile u64*>(address); }

// A guarded #UD and #PF come back as errors naming the exception; the kernel goes on.
void test_fault_guard(Result& r, const kl::boot::BootInfo& info)
{
    kl::Fault fault {};
    auto ud = kl::run_guarded(execute_ud2, nullptr, &fault);
    char detail[160];
    snprintf(detail, sizeof(detail), "%s", ud.is_error() ? ud.error().message() : "no fault caught");
    report(r, "guard #UD", ud.is_error() && fault.vector == 6, detail);

    // The first byte past the identity map is not mapped.
    void* unmapped = reinterpret_cast<void*>(static_cast<uptr>(info.mapped_bytes + 4096));
    auto pf = kl::run_guarded(read_address, unmapped, &fault);
    snprintf(detail, sizeof(detail), "%s, CR2 %#llx", pf.is_error() ? pf.error().message() : "no fault caught",
        static_cast<unsigned long long>(fault.address));
    report(r, "guard #PF", pf.is_error() && fault.vector == 14 && fault.address == reinterpret_cast<u64>(unmapped),
        detail);
}

// The calibrated TSC frequency is plausible (100 MHz .. 10 GHz) and, on hardware, agrees
// within 10 % with fresh measurements against every clock the machine has (ACPI PM timer,
// HPET, PIT; 0 = absent). Under a hypervisor they are reported but not required to agree:
// an emulated clock's window stretches whenever the host is busy, so it measures the host's
// load as much as the TSC.
void test_tsc(Result& r)
{
    using kl::time::TscReference;
    u64 hz = kl::time::tsc_hz();
    const u64 others[3] = { kl::time::measure_tsc_hz(TscReference::AcpiPmTimer),
        kl::time::measure_tsc_hz(TscReference::Hpet), kl::time::measure_tsc_hz(TscReference::Pit) };
    bool agree = true;
    for (u64 other : others) {
        double ratio = other ? static_cast<double>(hz) / static_cast<double>(other) : 1.0;
        agree = agree && ratio > 0.9 && ratio < 1.1;
    }
    char detail[160];
    snprintf(detail, sizeof(detail), "%llu.%03llu MHz from %s; PM timer says %llu MHz, HPET %llu MHz, PIT %llu MHz",
        static_cast<unsigned long long>(hz / 1000000), static_cast<unsigned long long>(hz / 1000 % 1000),
        kl::time::tsc_source(), static_cast<unsigned long long>(others[0] / 1000000),
        static_cast<unsigned long long>(others[1] / 1000000), static_cast<unsigned long long>(others[2] / 1000000));
    report(r, "tsc", hz > 100000000 && hz < 10000000000ull && (kl::cpu::features().hypervisor || agree), detail);
}

// Randomised malloc/free/realloc with content checks, then the heap's own integrity walk;
// large blocks come back 64-byte aligned; an impossible request is an error, not a crash.
void test_allocator(Result& r)
{
    constexpr int slots = 256;
    void* blocks[slots] = {};
    usize sizes[slots] = {};
    u64 state = 0x243F6A8885A308D3ull;
    auto next = [&]() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    bool ok = true;
    for (int op = 0; op < 20000 && ok; ++op) {
        int i = static_cast<int>(next() % slots);
        if (blocks[i]) {
            const u8* p = static_cast<const u8*>(blocks[i]);
            for (usize k = 0; k < sizes[i]; ++k)
                ok &= p[k] == static_cast<u8>(i + k);
            if (next() % 4 == 0) {
                usize grown = sizes[i] * 2 + 1;
                void* q = realloc(blocks[i], grown);
                ok &= q != nullptr;
                if (q) {
                    for (usize k = sizes[i]; k < grown; ++k)
                        static_cast<u8*>(q)[k] = static_cast<u8>(i + k);
                    blocks[i] = q;
                    sizes[i] = grown;
                }
                continue;
            }
            free(blocks[i]);
            blocks[i] = nullptr;
        } else {
            sizes[i] = static_cast<usize>(next() % ((next() % 8 == 0) ? 65536 : 512));
            blocks[i] = malloc(sizes[i]);
            ok &= blocks[i] != nullptr;
            if (blocks[i]) {
                for (usize k = 0; k < sizes[i]; ++k)
                    static_cast<u8*>(blocks[i])[k] = static_cast<u8>(i + k);
                if (sizes[i] >= 256)
                    ok &= reinterpret_cast<uptr>(blocks[i]) % 64 == 0;
            }
        }
    }
    for (void* b : blocks)
        free(b);
    ok &= kl::mem::kernel_heap().check_integrity();
    auto huge = kl::mem::allocate(usize(1) << 40, 64, "a 1 TiB test block");
    ok &= huge.is_error() && huge.error().code() == kl::ErrorCode::OutOfMemory;
    char detail[200];
    snprintf(detail, sizeof(detail), "20000 random operations; 1 TiB request: %s",
        huge.is_error() ? huge.error().message() : "granted?!");
    report(r, "allocator", ok, detail);
}

void call_code(void* code) { reinterpret_cast<void (*)()>(code)(); }
void write_byte(void* p) { *static_cast<volatile u8*>(p) = 0x90; }

// JIT memory is W^X: sealed code runs, but cannot be written; writable data cannot run.
void test_code_arena(Result& r)
{
    usize granted = 0;
    auto block = kl::mem::code_arena_allocate(64, &granted);
    if (block.is_error()) {
        report(r, "W^X", false, block.error().message());
        return;
    }
    u8* code = block.value();
    const u8 mov_eax_42_ret[] = { 0xB8, 42, 0, 0, 0, 0xC3 };
    memcpy(code, mov_eax_42_ret, sizeof(mov_eax_42_ret));
    kl::Fault fault {};
    bool data_not_executable = kl::run_guarded(call_code, code, &fault).is_error() && fault.vector == 14;
    bool sealed = !kl::mem::code_arena_seal(code, granted).is_error();
    int result = sealed ? reinterpret_cast<int (*)()>(code)() : 0;
    bool code_not_writable = kl::run_guarded(write_byte, code, &fault).is_error() && fault.vector == 14;
    kl::mem::code_arena_free(code, granted);
    bool nx = kl::cpu::features().nx;
    char detail[160];
    snprintf(detail, sizeof(detail), "sealed code returned %d; writing it faulted: %s; running RW data faulted: %s%s",
        result, code_not_writable ? "yes" : "NO", data_not_executable ? "yes" : "no",
        nx ? "" : " (this CPU has no NX)");
    report(r, "W^X", sealed && result == 42 && code_not_writable && (data_not_executable || !nx), detail);
}

// The formatter and libm on the real machine path: known strings and known bits (the same
// values the host tests compare against glibc).
void test_formatter_and_libm(Result& r)
{
    char buffer[128];
    snprintf(buffer, sizeof(buffer), "%d|%5.2f|%-4s|%#x|%e|%g|%llu", -42, 3.14159, "ab", 255, 1234.5, 0.0001,
        18446744073709551615ull);
    const char* expected = "-42| 3.14|ab  |0xff|1.234500e+03|0.0001|18446744073709551615";
    bool format_ok = strcmp(buffer, expected) == 0;
    report(r, "formatter", format_ok, format_ok ? expected : buffer);

    struct Probe {
        const char* name;
        float value;
        u32 bits;
    };
    float s, c;
    kl::sincosf(1.0f, &s, &c);
    const Probe probes[] = {
        { "expf(1)", kl::expf(1.0f), 0x402df854 },
        { "expf(-20)", kl::expf(-20.0f), 0x310da433 },
        { "logf(10)", kl::logf(10.0f), 0x40135d8e },
        { "powf(10000,0.5)", kl::powf(10000.0f, 0.5f), 0x42c80000 },
        { "sinf(1)", s, 0x3f576aa4 },
        { "cosf(1)", c, 0x3f0a5140 },
        { "sqrtf(2)", kl::sqrtf(2.0f), 0x3fb504f3 },
    };
    bool libm_ok = true;
    char detail[160] = "expf logf powf sinf cosf sqrtf match their known bits";
    for (const Probe& p : probes) {
        u32 bits;
        memcpy(&bits, &p.value, 4);
        if (bits != p.bits) {
            libm_ok = false;
            snprintf(detail, sizeof(detail), "%s = %08x, expected %08x", p.name, bits, p.bits);
            break;
        }
    }
    report(r, "libm", libm_ok, detail);
}

// What each core saw in the parallel_for test, one cache line per core.
struct alignas(64) CoreSlot {
    u64 begin, end, sum;
    u32 calls, ran_on;
};

struct ParallelProbe {
    CoreSlot slots[kl::smp::WorkTeam::max_members];
};

// A value per item that the compiler cannot sum in closed form, so every core really loops.
u64 item_value(u64 i) { return (i * 0x9E3779B97F4A7C15ull) >> 40; }

void sum_range(void* ctx, u64 begin, u64 end, u32 cpu)
{
    CoreSlot& slot = static_cast<ParallelProbe*>(ctx)->slots[cpu];
    u64 sum = 0;
    for (u64 i = begin; i < end; ++i)
        sum += item_value(i);
    slot.begin = begin;
    slot.end = end;
    slot.sum = sum;
    slot.calls += 1;
    slot.ran_on = kl::smp::current_cpu();
}

void empty_range(void*, u64, u64, u32) {}

// The oracle: the same sum, serially on the calling core.
u64 series(u64 begin, u64 end)
{
    u64 sum = 0;
    for (u64 i = begin; i < end; ++i)
        sum += item_value(i);
    return sum;
}

// parallel_for on every core: each core sums the range split_range assigns it, on itself
// (current_cpu() agrees), and gets what one core gets alone; with the limit at 1 only the
// boot core works. Also measures a job's dispatch + barrier cost with empty ranges.
void test_parallel(Result& r)
{
    const u32 cores = kl::smp::core_count();
    constexpr u64 count = 3000001, align = 16;
    auto* probe = new ParallelProbe();
    kl::smp::reset_core_stats();
    kl::smp::parallel_for(count, sum_range, probe, align);
    u64 job_cycles[kl::smp::WorkTeam::max_members];
    for (u32 c = 0; c < cores; ++c)
        job_cycles[c] = kl::smp::core_stats()[c].job_cycles;
    bool ok = true;
    u64 total = 0;
    char detail[256] = "";
    for (u32 c = 0; c < cores && ok; ++c) {
        const CoreSlot& s = probe->slots[c];
        kl::smp::Range expected = kl::smp::split_range(count, cores, c, align);
        ok = s.calls == 1 && s.ran_on == c && s.begin == expected.begin && s.end == expected.end
            && s.sum == series(s.begin, s.end);
        if (!ok)
            snprintf(detail, sizeof(detail), "core %u: %u calls, ran on core %u, range %llu..%llu (expected %llu..%llu)",
                c, s.calls, s.ran_on, static_cast<unsigned long long>(s.begin), static_cast<unsigned long long>(s.end),
                static_cast<unsigned long long>(expected.begin), static_cast<unsigned long long>(expected.end));
        total += s.sum;
    }
    const u64 whole = series(0, count);
    if (ok && total != whole) {
        ok = false;
        snprintf(detail, sizeof(detail), "total %llu, expected %llu", static_cast<unsigned long long>(total),
            static_cast<unsigned long long>(whole));
    }

    u32 previous_limit = kl::smp::core_limit();
    kl::smp::set_core_limit(1);
    *probe = ParallelProbe {};
    kl::smp::parallel_for(count, sum_range, probe, align);
    kl::smp::set_core_limit(previous_limit);
    if (ok && (probe->slots[0].calls != 1 || probe->slots[0].sum != whole || (cores > 1 && probe->slots[1].calls))) {
        ok = false;
        snprintf(detail, sizeof(detail), "with the core limit at 1, other cores still ran");
    }
    delete probe;

    // Up to 2000 empty jobs, for at most 100 ms: on an oversubscribed host each barrier can
    // cost a scheduler time slice.
    u64 jobs = 0;
    u64 budget = kl::time::tsc_hz() / 10;
    u64 start = kl::time::rdtsc_begin();
    while (jobs < 2000 && (jobs < 10 || kl::time::rdtsc() - start < budget)) {
        kl::smp::parallel_for(cores * align, empty_range, nullptr, align);
        ++jobs;
    }
    u64 per_job = (kl::time::rdtsc_end() - start) / jobs;
    // The first job after 5 ms of idleness, when the workers sleep: their wake-up cost.
    u64 idle_end = kl::time::rdtsc() + kl::time::tsc_hz() / 200;
    while (kl::time::rdtsc() < idle_end)
        kl::x86::pause();
    start = kl::time::rdtsc_begin();
    kl::smp::parallel_for(cores * align, empty_range, nullptr, align);
    u64 wake_job = kl::time::rdtsc_end() - start;
    kl::print("selftest parallel_for: per core, cycles in the summing job / idle sleeps since:");
    for (u32 c = 0; c < cores; ++c)
        kl::print(" %llu/%llu", static_cast<unsigned long long>(job_cycles[c]),
            static_cast<unsigned long long>(kl::smp::core_stats()[c].sleeps));
    kl::print("\n");
    u64 uncertainty = 0;
    u64 offset = kl::smp::max_tsc_offset(&uncertainty);
    if (ok)
        snprintf(detail, sizeof(detail),
            "%u cores summed %llu items, each its own range on itself; dispatch + barrier %llu cycles per job, "
            "%llu after 5 ms idle; max TSC offset %llu cycles (+-%llu)",
            cores, static_cast<unsigned long long>(count), static_cast<unsigned long long>(per_job),
            static_cast<unsigned long long>(wake_job), static_cast<unsigned long long>(offset),
            static_cast<unsigned long long>(uncertainty));
    report(r, "parallel_for", ok, detail);
}

u64 usable_megabytes(const kl::boot::BootInfo& info)
{
    u64 total = 0;
    for (u32 i = 0; i < info.region_count; ++i) {
        if (info.regions[i].type == kl::boot::memory_type_usable)
            total += info.regions[i].length;
    }
    return total / kl::MiB;
}

}

int run(const kl::boot::BootInfo& info, bool deliberate_fault)
{
    Result r;
    test_tsc(r);
    test_fault_guard(r, info);
    test_allocator(r);
    test_code_arena(r);
    test_formatter_and_libm(r);
    test_parallel(r);

    // Loading beyond 1 MiB and beyond 16 MiB: the test payload's CRC was checked by
    // kmain already; here we insist that it exists and spans 16 MiB.
    if (kl::boot::has_payload(info, "testblob")) {
        auto blob = kl::boot::find_payload(info, "testblob");
        bool ok = !blob.is_error() && !kl::boot::verify_payload(blob.value()).is_error();
        u64 end = ok ? reinterpret_cast<uptr>(blob.value().data) + blob.value().size : 0;
        char detail[96];
        snprintf(detail, sizeof(detail), "%llu MiB verified, ends at %llu MiB",
            ok ? static_cast<unsigned long long>(blob.value().size / kl::MiB) : 0ull,
            static_cast<unsigned long long>(end / kl::MiB));
        report(r, "load>16MiB", ok && end > 16 * kl::MiB, detail);
    }

    const auto& cpu = kl::cpu::features();
    kl::print("@stats {\"mode\": \"selftest\", \"cpu\": \"%s\", \"isa\": \"%s\", \"cores\": %u, \"mem_mb\": %llu, "
              "\"tsc_mhz\": %llu, \"tsc_source\": \"%s\", \"passed\": %d, \"failed\": %d}\n",
        cpu.brand, kl::cpu::isa_name(cpu.best_isa()), kl::smp::core_count(),
        static_cast<unsigned long long>(usable_megabytes(info)),
        static_cast<unsigned long long>(kl::time::tsc_hz() / 1000000), kl::time::tsc_source(), r.passed, r.failed);

    if (deliberate_fault) {
        // The deliberate unguarded fault: must end in the exception report, not a reset.
        kl::print("selftest: raising an unguarded #UD on purpose (selftest_fault=on)\n");
        execute_ud2(nullptr);
    }
    return r.failed == 0 ? 0 : static_cast<int>(ErrorCode::SelftestFailed);
}

}
