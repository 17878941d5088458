// The engine measuring itself (see bench.h).
#include "tinyllama/bench.h"

#include <stdio.h>

#include "kernel_lib/cpu/features.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/debug/report.h"
#include "kernel_lib/mem/bandwidth.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/time/tsc.h"
#include "kernel_lib/text/json.h"

namespace tllama {

namespace {

struct CountingSink {
    u64 bytes = 0;
};

void count_bytes(void* context, const char*, usize length) { static_cast<CountingSink*>(context)->bytes += length; }

double median(double* values, u32 count)
{
    for (u32 i = 1; i < count; ++i)
        for (u32 j = i; j > 0 && values[j] < values[j - 1]; --j) {
            double t = values[j];
            values[j] = values[j - 1];
            values[j - 1] = t;
        }
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

// The probe buffer: 256 MiB, or a quarter of what is free on a small machine.
kl::mem::Bandwidth probe_bandwidth()
{
    u64 bytes = kl::min<u64>(256 * kl::MiB, kl::align_down<u64>(kl::mem::available_bytes() / 4, kl::MiB));
    auto buffer = kl::mem::allocate(bytes, 64, "the bandwidth probe");
    if (buffer.is_error() || bytes < kl::MiB)
        return { 0.0, 0, "none" };
    auto result = kl::mem::measure_read_bandwidth(buffer.value(), bytes, 4);
    kl::mem::release(buffer.value());
    return result;
}

// One variant: the JIT tunes afresh for it (the fastest kernel on one core is not always
// the fastest split across two), `bench_warmup` tokens let it settle, then `runs` timed
// generations with the given core cap and prefill block; prints an @bench line per run,
// then the variant's @stats and profile.
kl::ErrorOr<void> bench_variant(Engine& engine, const BenchPlan& plan, u32 cores, u32 prefill,
    const kl::mem::Bandwidth& bandwidth, TextSink sink)
{
    kl::smp::set_core_limit(cores);
    set_prefill_block(engine.transformer(), static_cast<i32>(prefill));
    if (engine.jit().on()) {
        (void)engine.jit().set_on(false);  // re-tuning for this variant
        (void)engine.jit().set_on(true);
    }
    if (plan.warmup > 0)
        TRY(engine.generate(plan.prompt, static_cast<i32>(plan.warmup), sink));
    engine.reset_profile();
    const u32 steps = plan.steps ? plan.steps : 200;

    constexpr u32 max_runs = 100;
    double tok_per_s[max_runs], ttft[max_runs], prompt_ms[max_runs];
    const u32 runs = kl::max(1u, kl::min(plan.runs, max_runs));
    GenerateStats stats {};
    double generation_cycles = 0;
    for (u32 run = 0; run < runs; ++run) {
        engine.reseed(engine.seed());  // the same story every run
        stats = TRY(engine.generate(plan.prompt, static_cast<i32>(steps), sink));
        tok_per_s[run] = stats.tok_per_s;
        ttft[run] = stats.ttft_ms;
        prompt_ms[run] = stats.prompt_ms;
        generation_cycles += stats.total_ms * 1e-3 * static_cast<double>(kl::time::tsc_hz());
        kl::print("@bench {\"run\": %u, \"cores\": %u, \"prefill\": %u, \"prompt_tokens\": %u, "
                  "\"generated_tokens\": %u, \"tok_per_s\": %.2f, \"ttft_ms\": %.3f, \"prompt_ms\": %.3f, "
                  "\"total_ms\": %.3f}\n",
            run, kl::smp::core_count(), prefill, stats.prompt_tokens, stats.generated_tokens, stats.tok_per_s,
            stats.ttft_ms, stats.prompt_ms, stats.total_ms);
    }

    const double tps = median(tok_per_s, runs);
    const double weight_gb = static_cast<double>(memory_use(engine.transformer()).weights) / 1e9;
    const double stream = weight_gb * tps;
    char model[96], brand[128];
    kl::json_escape(engine.model_name(), model, sizeof(model));
    kl::json_escape(kl::cpu::features().brand, brand, sizeof(brand));
    kl::print("@stats {\"mode\": \"bench\", \"model\": \"%s\", \"cpu\": \"%s\", \"isa\": \"%s\", \"jit\": \"%s\", "
              "\"cores\": %u, \"prefill\": %u, \"runs\": %u, \"steps\": %u, \"prompt_tokens\": %u, "
              "\"generated_tokens\": %u, \"tok_per_s\": %.2f, \"ttft_ms\": %.3f, \"prompt_ms\": %.3f, "
              "\"weights_gb\": %.4f, \"stream_gb_per_s\": %.2f, \"probe_gb_per_s\": %.2f, "
              "\"stream_pct_of_probe\": %.1f, \"mem_mb\": %llu}\n",
        model, brand, engine.jit().isa_name(), engine.jit().on() ? "on" : "off", kl::smp::core_count(), prefill,
        runs, steps, stats.prompt_tokens, stats.generated_tokens, tps, median(ttft, runs), median(prompt_ms, runs),
        weight_gb, stream, bandwidth.gb_per_s, bandwidth.gb_per_s > 0 ? 100.0 * stream / bandwidth.gb_per_s : 0.0,
        static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB));
    engine.report(generation_cycles);
    return {};
}

}

int run_bench(Engine& engine, const BenchPlan& plan)
{
    const kl::mem::Bandwidth bandwidth = probe_bandwidth();
    kl::print("bench: streaming read %.2f GB/s on one core (%s loop over %llu MiB)\n", bandwidth.gb_per_s,
        bandwidth.isa, static_cast<unsigned long long>(bandwidth.bytes / kl::MiB));

    CountingSink counter;
    TextSink sink { count_bytes, &counter };
    const u32 core_limit = kl::smp::core_limit();
    const i32 prefill_block = engine.transformer().prefill_block;
    int status = 0;
    for (u32 p = 0; p < plan.prefill_count && status == 0; ++p) {
        for (u32 c = 0; c < plan.cores_count && status == 0; ++c) {
            kl::print("bench: %u core(s), prefill %u\n", plan.cores[c] ? plan.cores[c] : kl::smp::cores_online(),
                plan.prefill[p]);
            auto measured = bench_variant(engine, plan, plan.cores[c], plan.prefill[p], bandwidth, sink);
            if (measured.is_error()) {
                kl::report_error(measured.error().code(), measured.error().message());
                status = measured.error().exit_status();
            }
        }
    }
    kl::smp::set_core_limit(core_limit);
    set_prefill_block(engine.transformer(), prefill_block);
    return status;
}

}
