// The adapter between the HTTP API and the engine (see engine_backend.h).
//
// Engine::generate() streams exactly the text the host tool prints: the prompt as the
// tokenizer renders it, the generated text, then a newline (tinyllama/generate.h). The API
// wants only the generated text, so the relay below drops the prompt's rendered bytes
// (counted beforehand with the same encode/decode) and the final newline, which is the one
// write that no stop() check follows. max_tokens becomes the step count the prompt needs
// plus max_tokens, within the model's context. A chat request's messages go through the
// model's chat template (Engine::chat_completion), which streams only the reply and
// reuses what the previous request left in the KV cache.
#include "tinyllama/serve/engine_backend.h"

#include <string.h>

#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/text/text_buffer.h"
#include "kernel_lib/time/tsc.h"

namespace tllama::serve {

namespace {

// The prompt's token count (BOS included) and the bytes generate() writes for it.
struct PromptShape {
    u32 tokens = 0;
    usize rendered_bytes = 0;
};

kl::ErrorOr<PromptShape> measure_prompt(const Tokenizer& tokenizer, const char* prompt)
{
    const u64 length = strlen(prompt);
    void* memory = TRY(kl::mem::allocate(encode_capacity(length) * sizeof(i32), 16, "the prompt's tokens"));
    auto* tokens = static_cast<i32*>(memory);
    auto count = encode(tokenizer, prompt, length, true, false, tokens, encode_capacity(length));
    PromptShape shape;
    if (!count.is_error()) {
        shape.tokens = count.value();
        for (u32 i = 0; i + 1 < shape.tokens; ++i) {
            const TokenPiece piece = decode(tokenizer, tokens[i], tokens[i + 1]);
            if (is_printable_piece(piece))
                shape.rendered_bytes += piece.length;
        }
    }
    kl::mem::release(memory);
    if (count.is_error())
        return count.release_error();
    return shape;
}

// generate()'s TextSink, relaying the completion's own text to the server's TokenSink.
struct Relay {
    TokenSink& sink;
    usize prompt_bytes_left;
    kl::TextBuffer held { 64 * 1024 };  // the last piece, until a stop() check shows it was not the final newline

    static void write(void* context, const char* bytes, usize length)
    {
        auto* relay = static_cast<Relay*>(context);
        const usize skip = kl::min(length, relay->prompt_bytes_left);
        relay->prompt_bytes_left -= skip;
        relay->release();  // a write after the held one: the held one was text
        relay->held.append(bytes + skip, length - skip);
    }
    static bool stop(void* context)
    {
        auto* relay = static_cast<Relay*>(context);
        relay->release();
        return relay->sink.should_stop();
    }
    void release()
    {
        if (!held.empty())
            sink.text(held.data(), held.size());
        held.clear();
    }
};

// The reply's pieces as they come, straight to the server.
void relay_reply(void* context, const char* bytes, usize length) { static_cast<TokenSink*>(context)->text(bytes, length); }
bool relay_stop(void* context) { return static_cast<TokenSink*>(context)->should_stop(); }

chat::Role chat_role(const char* role)
{
    // The request parser lets through system, developer (OpenAI's newer system), user, assistant.
    if (role[0] == 'u')
        return chat::Role::User;
    return role[0] == 'a' ? chat::Role::Assistant : chat::Role::System;
}

Usage usage_of(const GenerateStats& stats)
{
    Usage usage;
    usage.prompt_tokens = stats.prompt_tokens;
    usage.completion_tokens = stats.generated_tokens;
    usage.ttft_ms = stats.ttft_ms;
    usage.tok_per_s = stats.tok_per_s;
    return usage;
}

class EngineBackend final : public Backend {
public:
    explicit EngineBackend(Engine& engine) : m_engine(engine) {}

    const char* model_name() const override { return m_engine.model_name(); }
    u32 context_length() const override { return static_cast<u32>(m_engine.transformer().config.seq_len); }
    bool chat_supported() const override { return m_engine.chat_family() != chat::Family::None; }

    kl::ErrorOr<Usage> complete(const CompletionRequest& request, TokenSink& sink) override
    {
        m_engine.set_temperature(request.temperature);
        m_engine.set_topp(request.top_p);
        m_engine.reseed(request.seed_given ? request.seed : (kl::time::rdtsc() | 1));
        if (request.chat)
            return complete_chat(request, sink);
        const PromptShape prompt = TRY(measure_prompt(m_engine.tokenizer(), request.prompt));
        const u32 context = context_length();
        if (prompt.tokens > context)
            return kl::Error::make(kl::ErrorCode::PromptTooLong,
                "the prompt is %u tokens, but the model's context is %u tokens: shorten the prompt", prompt.tokens,
                context);
        const u32 steps = kl::min(context, prompt.tokens - 1 + request.max_tokens);

        Relay relay { sink, prompt.rendered_bytes };
        TextSink text { Relay::write, &relay, Relay::stop };
        const GenerateStats stats = TRY(m_engine.generate(request.prompt, static_cast<i32>(steps), text));
        // What is still held is generate()'s closing newline: not part of the completion.
        Usage usage = usage_of(stats);
        usage.hit_limit = stats.generated_tokens >= steps - (prompt.tokens - 1);
        return usage;
    }

    kl::ErrorOr<Usage> complete_chat(const CompletionRequest& request, TokenSink& sink)
    {
        chat::Message messages[max_chat_messages];
        for (u32 i = 0; i < request.message_count; ++i)
            messages[i] = { chat_role(request.messages[i].role), request.messages[i].content };
        TextSink text { relay_reply, &sink, relay_stop };
        const GenerateStats stats = TRY(m_engine.chat_completion(messages, request.message_count, request.max_tokens,
            text));
        Usage usage = usage_of(stats);
        // The whole rendered prompt; stats.prompt_tokens counts only the positions computed.
        usage.prompt_tokens = stats.context_used - stats.sampled;
        usage.cached_tokens = usage.prompt_tokens - stats.prompt_tokens;
        usage.hit_limit = !stats.ended && !stats.stopped;
        return usage;
    }

    // The micro-JIT's kernels: how many serve on each tier, and each one's tier and calls.
    void write_metrics(kl::TextBuffer& out) const override
    {
        mjit::Dispatcher& d = m_engine.transformer().dispatcher;
        u32 on_tier[3] = {};
        for (int i = 0; i < d.slot_count(); ++i)
            ++on_tier[static_cast<int>(d.slot_at(i).tier)];
        out.append("# HELP bareflow_jit_kernels Kernel slots by micro-JIT tier (ref, default, tuned).\n"
                   "# TYPE bareflow_jit_kernels gauge\n");
        for (int t = 0; t < 3; ++t)
            out.appendf("bareflow_jit_kernels{tier=\"%s\"} %u\n", mjit::tier_name(static_cast<mjit::Tier>(t)),
                on_tier[t]);
        out.append("# HELP bareflow_jit_kernel_calls_total Calls served per kernel slot, with its tier.\n"
                   "# TYPE bareflow_jit_kernel_calls_total counter\n");
        for (int i = 0; i < d.slot_count(); ++i) {
            mjit::KernelSlot& s = d.slot_at(i);
            out.appendf("bareflow_jit_kernel_calls_total{kernel=\"%s\",tier=\"%s\"} %llu\n", s.name,
                mjit::tier_name(s.tier), static_cast<unsigned long long>(s.ref.calls + s.jit.calls));
        }
    }

private:
    Engine& m_engine;
};

}

Backend* new_engine_backend(Engine& engine) { return new EngineBackend(engine); }

}
