// Kernel self-tests (see selftest.h). Each test prints "selftest NAME: ok" or the failure.
#include "tinyllama/app/selftest.h"

#include <stdio.h>

#include "kernel_lib/arch/x86_64/pic.h"
#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/debug/fault_guard.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/time/tsc.h"

namespace tllama {

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

// The calibrated TSC frequency agrees with a fresh 10 ms PIT measurement (when the PIT
// counts at all; some hypervisors' PITs are coarse, hence the 5 % margin).
void test_tsc(Result& r)
{
    u64 hz = kl::time::tsc_hz();
    u64 pit_hz = kl::arch::pit_measure_tsc(10000) * 100;
    char detail[128];
    snprintf(detail, sizeof(detail), "%llu.%03llu MHz from %s; PIT says %llu.%03llu MHz",
        static_cast<unsigned long long>(hz / 1000000), static_cast<unsigned long long>(hz / 1000 % 1000),
        kl::time::tsc_source(), static_cast<unsigned long long>(pit_hz / 1000000),
        static_cast<unsigned long long>(pit_hz / 1000 % 1000));
    double ratio = pit_hz ? static_cast<double>(hz) / static_cast<double>(pit_hz) : 1.0;
    report(r, "tsc", hz > 100000000 && ratio > 0.95 && ratio < 1.05, detail);
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

int run_selftest(const kl::boot::BootInfo& info, const BootSettings& settings)
{
    Result r;
    test_tsc(r);
    test_fault_guard(r, info);

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
    kl::print("@stats {\"mode\": \"selftest\", \"cpu\": \"%s\", \"isa\": \"%s\", \"cores\": 1, \"mem_mb\": %llu, "
              "\"tsc_mhz\": %llu, \"tsc_source\": \"%s\", \"passed\": %d, \"failed\": %d}\n",
        cpu.brand, kl::cpu::isa_name(cpu.best_isa()), static_cast<unsigned long long>(usable_megabytes(info)),
        static_cast<unsigned long long>(kl::time::tsc_hz() / 1000000), kl::time::tsc_source(), r.passed, r.failed);

    if (settings.selftest_fault) {
        // The deliberate unguarded fault: must end in the exception report, not a reset.
        kl::print("selftest: raising an unguarded #UD on purpose (selftest_fault=on)\n");
        execute_ud2(nullptr);
    }
    return r.failed == 0 ? 0 : static_cast<int>(ErrorCode::SelftestFailed);
}

}
