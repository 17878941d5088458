// The engine in the kernel (see story.h).
#include "tinyllama/kernel_app/story.h"

#include <stdio.h>

#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/time/tsc.h"
#include "kernel_lib/text/json.h"
#include "tinyllama/warm_start.h"

namespace tllama {

namespace {

// The prompt part of the text is shown in one colour, the generated part in another; the
// serial bytes are the text exactly.
struct StorySink {
    u32 pieces = 0;
};

void write_piece(void* context, const char* bytes, usize length)
{
    auto* sink = static_cast<StorySink*>(context);
    if (sink->pieces++ == 0)
        kl::vga::set_color(kl::vga::White);
    kl::serial::write(bytes, length);
    kl::vga::write(bytes, length);
}

}

kl::ErrorOr<void> reset_sampler(Engine& engine)
{
    free_sampler(engine.sampler);
    return build_sampler(engine.sampler, engine.transformer.config.vocab_size, engine.temperature, engine.topp,
        engine.seed);
}

kl::ErrorOr<void> build_engine(Engine& engine, const kl::boot::BootInfo& info, const BootSettings& settings)
{
    auto model = TRY(kl::boot::find_payload(info, "model"));
    auto tokenizer = TRY(kl::boot::find_payload(info, "tokenizer"));
    engine.model_name = settings.model_name[0] ? settings.model_name : "model";
    TRY(build_transformer(engine.transformer, model.data, model.size, static_cast<i32>(settings.prefill)));
    print_model_summary(engine.transformer, engine.model_name);

    JitOptions jit;
    jit.enabled = settings.jit;
    jit.isa_cap = settings.jit_isa_cap;
    jit.hot_calls = settings.jit_hot_calls;
    jit.hot_cycles = settings.jit_hot_cycles;
    static EngineJit engine_jit(jit);
    engine.jit = &engine_jit;
    engine_jit.attach(engine.transformer);
    kl::print("micro-JIT %s (isa %s)\n", jit.enabled ? "on" : "off", engine_jit.isa_name());
    if (jit.enabled && kl::boot::has_payload(info, "profile")) {
        auto profile = TRY(kl::boot::find_payload(info, "profile"));
        auto started = warm_start(engine.transformer, engine_jit, reinterpret_cast<const char*>(profile.data),
            profile.size);
        if (started.is_error())
            kl::print("warm start: the profile payload is unusable (%s); tuning from scratch\n", started.error().message());
        else
            kl::print("warm start: %u of %u decisions in use before the first token\n", started.value().published,
                started.value().decisions);
    }
    TRY(build_tokenizer(engine.tokenizer, tokenizer.data, tokenizer.size, engine.transformer.config.vocab_size));
    engine.temperature = settings.temperature;
    engine.topp = settings.topp;
    engine.seed = settings.seed_given ? settings.seed : (kl::time::rdtsc() | 1);
    if (!settings.seed_given)
        kl::print("seed %llu (from the TSC; set SEED= to repeat this story)\n",
            static_cast<unsigned long long>(engine.seed));
    TRY(build_sampler(engine.sampler, engine.transformer.config.vocab_size, engine.temperature, engine.topp,
        engine.seed));
    kl::print("free memory after loading: %llu MiB\n",
        static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB));
    return {};
}

kl::ErrorOr<GenerateStats> tell_story(Engine& engine, const char* prompt, u32 steps)
{
    StorySink state;
    TextSink sink { write_piece, &state };
    kl::vga::set_color(kl::vga::LightGreen);
    kl::print("@text-begin\n");
    auto result = generate(engine.transformer, engine.tokenizer, engine.sampler, prompt, static_cast<i32>(steps), sink);
    kl::vga::set_color(kl::vga::LightGray);
    if (result.is_error())
        return result.release_error();
    kl::print("@text-end\n");
    GenerateStats stats = result.release_value();
    engine.last = stats;
    engine.has_run = true;

    const auto& cpu = kl::cpu::features();
    char model[96], brand[128];
    kl::json_escape(engine.model_name, model, sizeof(model));
    kl::json_escape(cpu.brand, brand, sizeof(brand));
    char token_ms[160];
    usize used = 0;
    for (u32 i = 0; i < stats.timed_tokens && used < sizeof(token_ms); ++i)
        used += static_cast<usize>(snprintf(token_ms + used, sizeof(token_ms) - used, "%s%.3f", i ? ", " : "",
            static_cast<double>(stats.token_ms[i])));
    if (stats.timed_tokens == 0)
        token_ms[0] = 0;
    kl::print("@stats {\"prompt_tokens\": %u, \"generated_tokens\": %u, \"ttft_ms\": %.3f, \"tok_per_s\": %.2f, "
              "\"total_ms\": %.3f, \"model\": \"%s\", \"cpu\": \"%s\", \"isa\": \"%s\", \"jit\": \"%s\", "
              "\"cores\": %u, \"mem_mb\": %llu, \"first_token_ms\": [%s]}\n",
        stats.prompt_tokens, stats.generated_tokens, stats.ttft_ms, stats.tok_per_s, stats.total_ms, model, brand,
        engine.jit->isa_name(), engine.jit->enabled() ? "on" : "off", kl::smp::core_count(),
        static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB), token_ms);
    engine.jit->report(engine.transformer, stats.total_ms * 1e-3 * static_cast<double>(kl::time::tsc_hz()));
    return stats;
}

}
