// The engine measuring itself (see bench.h).
#include "tinyllama/bench.h"

#include <stdio.h>

#include "kernel_lib/base/median.h"
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

// The streaming-read yardstick, measured again before every timed run: on a shared
// machine the bandwidth drifts by tens of percent within minutes, so each run's weight
// stream is compared with the probe taken just before it. The buffer (256 MiB, or a
// quarter of what is free on a small machine) is allocated once.
class BandwidthProbe {
public:
    BandwidthProbe()
    {
        m_bytes = kl::min<u64>(256 * kl::MiB, kl::align_down<u64>(kl::mem::available_bytes() / 4, kl::MiB));
        if (m_bytes < kl::MiB)
            return;  // no room: the figures go without a yardstick
        auto buffer = kl::mem::allocate(m_bytes, 64, "the bandwidth probe");
        m_buffer = buffer.is_error() ? nullptr : buffer.value();
    }
    ~BandwidthProbe()
    {
        if (m_buffer)
            kl::mem::release(m_buffer);
    }
    BandwidthProbe(const BandwidthProbe&) = delete;
    BandwidthProbe& operator=(const BandwidthProbe&) = delete;

    kl::mem::Bandwidth measure() const
    {
        if (!m_buffer)
            return { 0.0, 0, "none" };
        return kl::mem::measure_read_bandwidth(m_buffer, m_bytes, 4);
    }

private:
    void* m_buffer = nullptr;
    u64 m_bytes = 0;
};

double percent_of(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

// One variant: the JIT tunes afresh for it (the fastest kernel on one core is not always
// the fastest split across two), `bench_warmup` tokens let it settle, then `runs` timed
// generations with the given core cap and prefill block; prints an @bench line per run,
// then the variant's @stats and profile.
kl::ErrorOr<void> bench_variant(Engine& engine, const BenchPlan& plan, u32 cores, u32 prefill,
    const BandwidthProbe& probe, TextSink sink)
{
    kl::smp::set_core_limit(cores);
    set_prefill_block(engine.transformer(), static_cast<i32>(prefill));
    if (engine.jit().on()) {
        (void)engine.jit().set_on(false);  // re-tuning for this variant
        (void)engine.jit().set_on(true);
    }
    if (plan.warmup > 0) {
        const GenerateStats warm = TRY(engine.generate(plan.prompt, static_cast<i32>(plan.warmup), sink));
        // A prompt longer than the warm-up sampled nothing: with prefill on, the single
        // passes that follow the prompt in every timed run would then install their kernels
        // in run 0's time to first token. So once more, the whole prompt and a few tokens.
        if (warm.generated_tokens == 0)
            TRY(engine.generate(plan.prompt, static_cast<i32>(warm.prompt_tokens + 8), sink));
    }
    engine.reset_profile();
    const u32 steps = plan.steps ? plan.steps : 200;

    constexpr u32 max_runs = 100;
    double tok_per_s[max_runs], ttft[max_runs], prompt_ms[max_runs], probe_gbs[max_runs], stream_pct[max_runs];
    const u32 runs = kl::max(1u, kl::min(plan.runs, max_runs));
    const double weight_gb = static_cast<double>(memory_use(engine.transformer()).weights) / 1e9;
    GenerateStats stats {};
    double generation_cycles = 0;
    for (u32 run = 0; run < runs; ++run) {
        probe_gbs[run] = probe.measure().gb_per_s;
        engine.reseed(engine.seed());  // the same story every run
        stats = TRY(engine.generate(plan.prompt, static_cast<i32>(steps), sink));
        tok_per_s[run] = stats.tok_per_s;
        ttft[run] = stats.ttft_ms;
        prompt_ms[run] = stats.prompt_ms;
        stream_pct[run] = percent_of(weight_gb * stats.tok_per_s, probe_gbs[run]);
        generation_cycles += stats.total_ms * 1e-3 * static_cast<double>(kl::time::tsc_hz());
        kl::print("@bench {\"run\": %u, \"cores\": %u, \"prefill\": %u, \"prompt_tokens\": %u, "
                  "\"generated_tokens\": %u, \"tok_per_s\": %.2f, \"ttft_ms\": %.3f, \"prompt_ms\": %.3f, "
                  "\"total_ms\": %.3f, \"probe_gb_per_s\": %.2f, \"stream_pct_of_probe\": %.1f}\n",
            run, kl::smp::core_count(), prefill, stats.prompt_tokens, stats.generated_tokens, stats.tok_per_s,
            stats.ttft_ms, stats.prompt_ms, stats.total_ms, probe_gbs[run], stream_pct[run]);
    }

    // Medians of the runs; the share of the probe is the median of each run's own share.
    const double tps = kl::median_in_place(tok_per_s, runs);
    const double stream = weight_gb * tps;
    char model[96], brand[128];
    kl::json_escape(engine.model_name(), model, sizeof(model));
    kl::json_escape(kl::cpu::features().brand, brand, sizeof(brand));
    kl::print("@stats {\"mode\": \"bench\", \"model\": \"%s\", \"cpu\": \"%s\", \"isa\": \"%s\", \"jit\": \"%s\", "
              "\"cores\": %u, \"prefill\": %u, \"runs\": %u, \"steps\": %u, \"prompt_tokens\": %u, "
              "\"generated_tokens\": %u, \"tok_per_s\": %.2f, \"ttft_ms\": %.3f, \"prompt_ms\": %.3f, "
              "\"weights_gb\": %.4f, \"stream_gb_per_s\": %.2f, \"probe_gb_per_s\": %.2f, "
              "\"stream_pct_of_probe\": %.1f, \"mem_mb\": %llu, \"tsc_mhz\": %llu}\n",
        model, brand, engine.jit().isa_name(), engine.jit().on() ? "on" : "off", kl::smp::core_count(), prefill,
        runs, steps, stats.prompt_tokens, stats.generated_tokens, tps, kl::median_in_place(ttft, runs),
        kl::median_in_place(prompt_ms, runs), weight_gb, stream, kl::median_in_place(probe_gbs, runs),
        kl::median_in_place(stream_pct, runs),
        static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB),
        static_cast<unsigned long long>(kl::time::tsc_hz() / 1000000));
    engine.report(generation_cycles);
    return {};
}

}

int run_bench(Engine& engine, const BenchPlan& plan)
{
    const BandwidthProbe probe;
    const kl::mem::Bandwidth bandwidth = probe.measure();
    kl::print("bench: streaming read %.2f GB/s on one core (%s loop over %llu MiB; measured again before every "
              "run)\n",
        bandwidth.gb_per_s, bandwidth.isa, static_cast<unsigned long long>(bandwidth.bytes / kl::MiB));

    CountingSink counter;
    TextSink sink { count_bytes, &counter };
    const u32 core_limit = kl::smp::core_limit();
    const i32 prefill_block = engine.transformer().prefill_block;
    int status = 0;
    for (u32 p = 0; p < plan.prefill_count && status == 0; ++p) {
        for (u32 c = 0; c < plan.cores_count && status == 0; ++c) {
            kl::print("bench: %u core(s), prefill %u\n", plan.cores[c] ? plan.cores[c] : kl::smp::cores_online(),
                plan.prefill[p]);
            auto measured = bench_variant(engine, plan, plan.cores[c], plan.prefill[p], probe, sink);
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
