// kmain: what the kernel does once kernel_lib is up (called by kernel_lib/kstart.kernel.cpp).
//
// Reads the boot settings, prints the banner, the memory map and the CPU, checks every
// payload's CRC, then acts on the mode: selftest runs the kernel self-tests; generate,
// bench, interactive and chat run the engine.
#include <stdlib.h>
#include <string.h>

#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/io/machine.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/debug/report.h"
#include "tinyllama/kernel_app/boot_settings.h"
#include "kernel_lib/mem/kernel_memory.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/time/tsc.h"
#include "tinyllama/bench.h"
#include "tinyllama/kernel_app/console.h"
#include "tinyllama/kernel_app/jit_dump.h"
#include "kernel_lib/selftest/selftest.h"
#include "tinyllama/kernel_app/serve_mode.h"
#include "tinyllama/kernel_app/story.h"

namespace {

using kl::ErrorCode;
using kl::ErrorOr;
using kl::boot::BootInfo;

template<typename T>
T must(ErrorOr<T> result)
{
    if (result.is_error())
        kl::fail(result.error());
    return result.release_value();
}

void must(ErrorOr<void> result)
{
    if (result.is_error())
        kl::fail(result.error());
}

// The settings text is parsed into a static scratch buffer (no heap needed yet).
char g_settings_scratch[2 * tllama::max_settings_bytes + 2];

tllama::BootSettings read_settings(const BootInfo& info)
{
    if (!kl::boot::has_payload(info, "settings"))
        return {};
    auto payload = must(kl::boot::find_payload(info, "settings"));
    must(kl::boot::verify_payload(payload));
    return must(tllama::parse_boot_settings(reinterpret_cast<const char*>(payload.data), payload.size, g_settings_scratch));
}

u64 usable_bytes(const BootInfo& info)
{
    u64 total = 0;
    for (u32 i = 0; i < info.region_count; ++i) {
        if (info.regions[i].type == kl::boot::memory_type_usable)
            total += info.regions[i].length;
    }
    return total;
}

void print_banner(const BootInfo& info, const tllama::BootSettings& settings)
{
    kl::vga::set_color(kl::vga::LightCyan);
    kl::print("\nBareFlow -- a bare-metal LLM runtime (TinyLlama engine + micro-JIT)\n");
    kl::vga::set_color(kl::vga::LightGray);
    const auto& cpu = kl::cpu::features();
    kl::print("cpu: %s (%s, family %u model %u), best ISA %s\n", cpu.brand, cpu.vendor, cpu.family, cpu.model,
        kl::cpu::isa_name(cpu.best_isa()));
    kl::print("memory: %llu MiB usable in %u regions (%s), identity mapped up to %llu GiB\n",
        static_cast<unsigned long long>(usable_bytes(info) / kl::MiB), info.region_count,
        kl::boot::memory_map_source(info),
        static_cast<unsigned long long>(info.mapped_bytes / kl::GiB));
    for (u32 i = 0; i < info.region_count; ++i) {
        const auto& r = info.regions[i];
        kl::print("  %016llx-%016llx %s\n", static_cast<unsigned long long>(r.base),
            static_cast<unsigned long long>(r.base + r.length),
            r.type == 1 ? "usable" : r.type == 3 ? "ACPI data" : r.type == 4 ? "ACPI NVS" : r.type == 5 ? "bad" : "reserved");
    }
    kl::print("mode: %s\n", tllama::run_mode_name(settings.mode));
}

void verify_all_payloads(const BootInfo& info)
{
    for (u32 i = 0; i < info.payload_count; ++i) {
        const auto& p = info.payloads[i];
        char name[kl::boot::payload_name_bytes + 1] = {};
        memcpy(name, p.name, kl::boot::payload_name_bytes);
        // The kernel's own bytes changed once .data was written; stage2 checked it on load.
        if (strcmp(name, "kernel") == 0)
            continue;
        auto view = must(kl::boot::find_payload(info, name));
        must(kl::boot::verify_payload(view));
        kl::print("payload %-10s %10llu bytes at %#010llx..%#010llx  crc32c %08x ok\n", name,
            static_cast<unsigned long long>(p.size), static_cast<unsigned long long>(p.address),
            static_cast<unsigned long long>(p.address + p.size), p.crc32);
    }
}

// MODE=bench's variants from the settings: the lists bench_cores= / bench_prefill=, or the
// single configured cores= / prefill=.
tllama::BenchPlan bench_plan(const tllama::BootSettings& settings)
{
    static_assert(tllama::BootSettings::max_bench_variants <= tllama::BenchPlan::max_variants);
    tllama::BenchPlan plan;
    plan.prompt = settings.prompt;
    plan.steps = settings.steps;
    plan.runs = settings.bench_runs;
    plan.warmup = settings.bench_warmup;
    plan.cores_count = settings.bench_cores_count ? settings.bench_cores_count : 1;
    plan.prefill_count = settings.bench_prefill_count ? settings.bench_prefill_count : 1;
    for (u32 i = 0; i < plan.cores_count; ++i)
        plan.cores[i] = settings.bench_cores_count ? settings.bench_cores[i] : settings.cores;
    for (u32 i = 0; i < plan.prefill_count; ++i)
        plan.prefill[i] = settings.bench_prefill_count ? settings.bench_prefill[i] : settings.prefill;
    return plan;
}

}

// The serve kernel's strong definition (tinyllama/serve/serve_mode.kernel.cpp) replaces this.
[[gnu::weak]] void tllama::run_server(Engine&, const BootSettings&)
{
    kl::panic_with(ErrorCode::UsageError, "MODE=serve needs the serve kernel (make serve, build/kernel-serve.bin)");
}

// The developer modes live in the developer kernel (build/kernel-dev.bin: tinyllama/bench.cpp,
// kernel_lib/selftest, jit_dump.kernel.cpp), whose strong definitions replace these; the
// kernel `make run` boots stays without them. mkimage picks that kernel for these modes.
[[noreturn]] static void needs_developer_kernel(const char* what)
{
    kl::panic_with(ErrorCode::UsageError, "%s needs the developer kernel (build/kernel-dev.bin, which mkimage picks for it)",
        what);
}
[[gnu::weak]] int tllama::run_bench(Engine&, const BenchPlan&) { needs_developer_kernel("MODE=bench"); }
[[gnu::weak]] int kl::selftest::run(const BootInfo&, bool) { needs_developer_kernel("MODE=selftest"); }
[[gnu::weak]] void tllama::start_jit_dump() { needs_developer_kernel("jit_dump=on"); }
[[gnu::weak]] void tllama::flush_jit_dump(Engine&) { }

void kmain(const BootInfo& info)
{
    tllama::BootSettings settings = read_settings(info);
    kl::serial::set_crlf(settings.mode == tllama::RunMode::Interactive);
    print_banner(info, settings);
    verify_all_payloads(info);

    kl::mem::print_memory_summary();
    if (settings.cores)
        kl::smp::set_core_limit(settings.cores);

    if (settings.mode == tllama::RunMode::Selftest)
        kl::machine::exit(kl::selftest::run(info, settings.selftest_fault));

    if (settings.jit_dump)
        tllama::start_jit_dump();
    tllama::Engine& engine = *must(tllama::open_engine(info, settings));
    switch (settings.mode) {
    case tllama::RunMode::Generate: {
        const tllama::GenerateStats stats = must(tllama::tell_story(engine, settings.prompt, settings.steps));
        engine.report(stats.total_ms * 1e-3 * static_cast<double>(kl::time::tsc_hz()));
        tllama::flush_jit_dump(engine);
        kl::machine::exit(0);
    }
    case tllama::RunMode::Interactive:
        tllama::run_console(engine, settings);
    case tllama::RunMode::Bench:
        kl::machine::exit(tllama::run_bench(engine, bench_plan(settings)));
    case tllama::RunMode::Serve:
        tllama::run_server(engine, settings);
    case tllama::RunMode::Chat:
        tllama::run_chat_mode(engine, settings);
    default:
        kl::panic_with(ErrorCode::UsageError, "mode %s is not available in this build yet", tllama::run_mode_name(settings.mode));
    }
}
