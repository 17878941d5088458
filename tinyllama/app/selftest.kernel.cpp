// Kernel self-tests (see selftest.h). Each test prints "selftest NAME: ok" or the failure.
#include "tinyllama/app/selftest.h"

#include <stdio.h>

#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/io/print.h"

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

int run_selftest(const kl::boot::BootInfo& info, const BootSettings&)
{
    Result r;

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
              "\"passed\": %d, \"failed\": %d}\n",
        cpu.brand, kl::cpu::isa_name(cpu.best_isa()), static_cast<unsigned long long>(usable_megabytes(info)), r.passed,
        r.failed);
    return r.failed == 0 ? 0 : static_cast<int>(ErrorCode::SelftestFailed);
}

}
