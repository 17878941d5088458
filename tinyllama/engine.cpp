// The engine object (see engine.h).
#include "tinyllama/engine.h"

#include <new>
#include <stdio.h>

#include "kernel_lib/cpu/features.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/text/json.h"
#include "kernel_lib/time/tsc.h"
#include "microjit/report.h"
#include "tinyllama/gguf/gguf.h"
#include "tinyllama/gguf/tokenizer_gguf.h"
#include "tinyllama/phases.h"
#include "tinyllama/warm_start.h"

namespace tllama {

Engine::Engine(const EngineOptions& options)
    : m_jit(options.jit)
    , m_model_name(options.model_name ? options.model_name : "model")
    , m_seed(options.seed)
{
}

Engine::~Engine()
{
    m_jit.detach();
    free_sampler(m_sampler);
    free_tokenizer(m_tokenizer);
    free_transformer(m_transformer);
}

kl::ErrorOr<Engine*> Engine::open(const void* model, u64 model_size, const void* tokenizer, u64 tokenizer_size,
    const EngineOptions& options)
{
    void* memory = TRY(kl::mem::allocate(sizeof(Engine), alignof(Engine), "the engine"));
    Engine* engine = new (memory) Engine(options);
    auto built = engine->build(model, model_size, tokenizer, tokenizer_size, options);
    if (built.is_error()) {
        close(engine);
        return built.release_error();
    }
    return engine;
}

void Engine::close(Engine* engine)
{
    if (!engine)
        return;
    engine->~Engine();
    kl::mem::release(engine);
}

kl::ErrorOr<void> Engine::build(const void* model, u64 model_size, const void* tokenizer, u64 tokenizer_size,
    const EngineOptions& options)
{
    TRY(build_transformer(m_transformer, model, model_size, options.prefill_block));
    print_model_summary(m_transformer, m_model_name);
    const i32 vocab = m_transformer.config.vocab_size;
    if (m_transformer.model.gguf)
        TRY(gguf::build_tokenizer_gguf(m_tokenizer, *m_transformer.model.gguf, vocab));
    else if (!tokenizer)
        return kl::Error::make(kl::ErrorCode::UsageError,
            "a llama2.c checkpoint needs its tokenizer file (tokenizer.bin, or tok512.bin for stories260K): -z, TOKENIZER=");
    else
        TRY(build_tokenizer(m_tokenizer, tokenizer, tokenizer_size, vocab));
    TRY(build_sampler(m_sampler, m_transformer.config.vocab_size, options.temperature, options.topp, m_seed));
    const chat::Family family = TRY(recognise_template());
    TRY(m_conversation.init(m_transformer, m_tokenizer, m_sampler, family));

    m_jit.attach(m_transformer);
    if (m_jit.on())
        kl::print("micro-JIT on (isa %s): %u of %d kernels generated and verified in %.1f ms before the first token\n",
            m_jit.isa_name(), m_jit.defaults_installed(), m_transformer.dispatcher.slot_count(), m_jit.setup_ms());
    else
        kl::print("micro-JIT off: every kernel is the scalar reference\n");
    if (m_jit.on() && options.profile) {
        auto started = warm_start(m_transformer, m_jit, options.profile, options.profile_size);
        if (started.is_error())
            kl::print("warm start: the profile is unusable (%s); tuning from scratch\n", started.error().message());
        else
            kl::print("warm start: %u of %u decisions in use before the first token\n", started.value().published,
                started.value().decisions);
    }
    return {};
}

kl::ErrorOr<chat::Family> Engine::recognise_template()
{
    if (!m_transformer.model.gguf) {
        m_chat_why = "a llama2.c checkpoint has no chat template";
        return chat::Family::None;
    }
    const gguf::StringView text = TRY(gguf::chat_template(*m_transformer.model.gguf));
    return chat::recognise(text.data, text.length, &m_chat_why);
}

kl::ErrorOr<GenerateStats> Engine::generate(const char* prompt, i32 steps, TextSink& sink)
{
    m_conversation.forget_cache();
    return tllama::generate(m_transformer, m_tokenizer, m_sampler, prompt, steps, sink);
}

kl::ErrorOr<GenerateStats> Engine::chat_completion(const chat::Message* messages, u32 count, u32 max_tokens,
    TextSink& sink)
{
    const u64 started = kl::time::rdtsc_begin();
    chat::PromptBuilder b(m_conversation.chat_template(), m_tokenizer);
    TRY(chat::render_messages(b, messages, count));
    const u32 context = m_conversation.context();
    if (b.count() >= context)
        return kl::Error::make(kl::ErrorCode::PromptTooLong,
            "the messages are %u tokens as the chat template renders them, but the model's context is %u tokens: "
            "shorten them", b.count(), context);
    // Through the conversation: what the previous request left in the cache is reused.
    return m_conversation.reply_to_rendered(b.ids(), b.count(), max_tokens, started, sink);
}

void Engine::stats_json(const GenerateStats& s, char* buffer, usize size) const
{
    const auto& cpu = kl::cpu::features();
    char model[96], brand[128], token_ms[160] = "", chat[96] = "";
    kl::json_escape(m_model_name, model, sizeof(model));
    kl::json_escape(cpu.brand, brand, sizeof(brand));
    usize used = 0;
    for (u32 i = 0; i < s.timed_tokens && used < sizeof(token_ms); ++i)
        used += static_cast<usize>(snprintf(token_ms + used, sizeof(token_ms) - used, "%s%.3f", i ? ", " : "",
            static_cast<double>(s.token_ms[i])));
    if (s.chat)
        snprintf(chat, sizeof(chat), ", \"context_used\": %u, \"context\": %u, \"dropped_turns\": %u", s.context_used,
            s.context, s.dropped_turns);
    snprintf(buffer, size,
        "{\"prompt_tokens\": %u, \"generated_tokens\": %u, \"ttft_ms\": %.3f, \"tok_per_s\": %.2f, \"total_ms\": %.3f, "
        "\"prompt_ms\": %.3f, \"tuning_ms\": %.3f, \"jit_setup_ms\": %.3f, \"model\": \"%s\", \"cpu\": \"%s\", "
        "\"isa\": \"%s\", \"jit\": \"%s\", \"cores\": %u, \"mem_mb\": %llu, \"stopped\": %s, \"first_token_ms\": [%s]%s}",
        s.prompt_tokens, s.generated_tokens, s.ttft_ms, s.tok_per_s, s.total_ms, s.prompt_ms, s.tuning_ms,
        m_jit.setup_ms(), model, brand, m_jit.isa_name(), m_jit.on() ? "on" : "off", kl::smp::core_count(),
        static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB), s.stopped ? "true" : "false", token_ms, chat);
}

void Engine::stats_summary(const GenerateStats& s, char* buffer, usize size) const
{
    const int n = snprintf(buffer, size, "%s%u tokens, %.1f tok/s, first token after %.1f ms",
        s.stopped ? "[stopped] " : "", s.generated_tokens, s.tok_per_s, s.ttft_ms);
    if (s.chat && n > 0 && static_cast<usize>(n) < size)
        snprintf(buffer + n, size - static_cast<usize>(n), ", context %u/%u", s.context_used, s.context);
}

void Engine::set_temperature(float temperature) { m_sampler.temperature = temperature; }

void Engine::set_topp(float topp) { m_sampler.topp = topp; }

void Engine::reseed(u64 seed)
{
    m_seed = seed;
    m_sampler.rng_state = seed;
}

void Engine::report(double cycles)
{
    const mjit::ReportContext context { m_jit.isa_name(), m_jit.on(), cycles, m_jit.cache().stats().code_bytes,
        phase_table() };
    mjit::print_profile(m_transformer.dispatcher, context);
}

void Engine::reset_profile()
{
    mjit::reset_profile(m_transformer.dispatcher);
    reset_phases();
}

}
