// The generation loop (see generate.h and formats.md, "Sampling").
//
// Timing (TSC): ttft runs from entry (encoding included) to the first sampled token;
// the generation rate counts the forward passes whose logits were sampled (the first one
// processes the last prompt token) over their wall time, printing included.
#include "tinyllama/generate.h"

#include <string.h>

#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/time/tsc.h"
#include "microjit/tiering.h"
#include "tinyllama/phases.h"

namespace tllama {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

// Owns the prompt's token buffer for the length of one generate() call.
class TokenBuffer {
public:
    ~TokenBuffer()
    {
        if (m_tokens)
            kl::mem::release(m_tokens);
    }
    ErrorOr<i32*> allocate(u64 count)
    {
        void* p = TRY(kl::mem::allocate(count * sizeof(i32), 16, "the prompt tokens"));
        m_tokens = static_cast<i32*>(p);
        return m_tokens;
    }

private:
    i32* m_tokens = nullptr;
};

// One generate() call: the prompt's tokens, where the run is, and its clocks.
struct Run {
    Transformer& t;
    const Tokenizer& tokenizer;
    Sampler& sampler;
    TextSink& sink;
    i32* tokens = nullptr;
    i32 steps = 0;
    i32 last_prompt_pos = 0;
    i32 pos = 0;
    u64 start = 0;
    u64 sampling_start = 0;
    u64 first_token = 0;
    u64 jit_cycles_at_start = 0;
    GenerateStats stats {};
};

u64 jit_cycles(const Transformer& t)
{
    const mjit::Tiering* tiering = t.dispatcher.tiering();
    return tiering ? tiering->spent_cycles() : 0;
}

// The JIT tunes nothing until the first token is out: the prompt runs on the default
// kernels, and tuning's generation and timing start once the user has something to read.
void hold_tuning(Transformer& t, bool held)
{
    if (mjit::Tiering* tiering = t.dispatcher.tiering())
        tiering->hold(held);
}

void emit(Run& r, i32 token, i32 next)
{
    const TokenPiece piece = decode(r.tokenizer, token, next);
    if (is_printable_piece(piece))
        r.sink.write(r.sink.context, reinterpret_cast<const char*>(piece.bytes), piece.length);
}

bool stop_requested(Run& r)
{
    if (!r.sink.stop || !r.sink.stop(r.sink.context))
        return false;
    r.stats.stopped = true;
    return true;
}

// The prompt as tokens, BOS first when the tokenizer adds it (and always before an empty
// prompt: the first pass needs a token); refused when longer than the context.
ErrorOr<void> encode_prompt(Run& r, TokenBuffer& buffer, const char* prompt)
{
    const u64 length = strlen(prompt);
    r.tokens = TRY(buffer.allocate(encode_capacity(length)));
    const bool bos = r.tokenizer.add_bos || length == 0;
    const u32 count = TRY(encode(r.tokenizer, prompt, length, bos, false, r.tokens, encode_capacity(length)));
    const i32 seq_len = r.t.config.seq_len;
    if (count > static_cast<u32>(seq_len))
        return Error::make(ErrorCode::PromptTooLong,
            "the prompt is %u tokens, but the model's context (seq_len) is %d tokens: shorten the prompt", count, seq_len);
    r.stats.prompt_tokens = count;
    r.last_prompt_pos = static_cast<i32>(count) - 1;
    return {};
}

// Batched prefill: whole blocks of forced prompt tokens go through the layers at once
// (bit-identical to one token at a time); the rest of the prompt, and the last prompt
// token, whose logits are sampled, take the token-by-token path.
void prefill(Run& r)
{
    const i32 block = r.t.prefill_block;
    const i32 forced_end = r.last_prompt_pos < r.steps ? r.last_prompt_pos : r.steps;
    while (block > 1 && r.pos + block <= forced_end) {
        forward_block(r.t, r.tokens + r.pos, r.pos);
        r.stats.forward_passes += static_cast<u32>(block);
        for (i32 i = r.pos; i < r.pos + block; ++i)
            emit(r, r.tokens[i], r.tokens[i + 1]);
        r.pos += block;
        if (stop_requested(r))
            r.steps = r.pos;  // the token loop then only finishes the text
    }
}

// The next token after the pass at r.pos: forced while in the prompt, sampled after.
i32 next_token(Run& r, float* logits, u64 pass_start)
{
    if (r.pos < r.last_prompt_pos)
        return r.tokens[r.pos + 1];
    i32 next;
    {
        PhaseScope phase(Phase::Sampler);
        next = sample(r.sampler, logits);
    }
    const u64 pass_end = kl::time::rdtsc_end();
    if (r.first_token == 0) {
        r.first_token = pass_end;
        r.stats.tuning_ms = kl::time::cycles_to_ms(jit_cycles(r.t) - r.jit_cycles_at_start);
        hold_tuning(r.t, false);
    }
    GenerateStats& s = r.stats;
    if (s.timed_tokens < sizeof(s.token_ms) / sizeof(s.token_ms[0]))
        s.token_ms[s.timed_tokens++] = static_cast<float>(kl::time::cycles_to_ms(pass_end - pass_start));
    return next;
}

// Token by token from r.pos: the rest of the prompt, then sampled tokens, until `steps`,
// a sampled BOS or EOS (the model ended the text: llama2.c's stories end with BOS, GGUF
// models with EOS) or a stop request.
void token_loop(Run& r)
{
    i32 token = r.tokens[r.pos];
    for (; r.pos < r.steps; ++r.pos) {
        const u64 pass_start = kl::time::rdtsc_begin();
        if (r.pos == r.last_prompt_pos)
            r.sampling_start = pass_start;
        float* logits = forward(r.t, token, r.pos);
        ++r.stats.forward_passes;
        const i32 next = next_token(r, logits, pass_start);
        if (next == r.tokenizer.bos_id || next == r.tokenizer.eos_id)
            break;
        if (r.pos >= r.last_prompt_pos)
            ++r.stats.generated_tokens;
        emit(r, token, next);
        token = next;
        if (stop_requested(r))
            break;
    }
}

void finish_stats(Run& r)
{
    GenerateStats& s = r.stats;
    const u64 end = kl::time::rdtsc_end();
    s.total_ms = kl::time::cycles_to_ms(end - r.start);
    s.ttft_ms = r.first_token ? kl::time::cycles_to_ms(r.first_token - r.start) : 0.0;
    s.prompt_ms = r.sampling_start ? kl::time::cycles_to_ms(r.sampling_start - r.start) : s.total_ms;
    const u32 sampling_passes = r.sampling_start ? s.forward_passes - static_cast<u32>(r.last_prompt_pos) : 0;
    const double sampling_s = r.sampling_start ? kl::time::cycles_to_s(end - r.sampling_start) : 0.0;
    s.tok_per_s = sampling_s > 0.0 ? sampling_passes / sampling_s : 0.0;
}

}

ErrorOr<GenerateStats> generate(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler, const char* prompt,
    i32 steps, TextSink& sink)
{
    Run r { t, tokenizer, sampler, sink };
    r.start = kl::time::rdtsc_begin();
    r.jit_cycles_at_start = jit_cycles(t);
    r.steps = steps <= 0 || steps > t.config.seq_len ? t.config.seq_len : steps;
    TokenBuffer buffer;
    TRY(encode_prompt(r, buffer, prompt));
    hold_tuning(t, true);
    prefill(r);
    token_loop(r);
    hold_tuning(t, false);
    sink.write(sink.context, "\n", 1);
    finish_stats(r);
    return r.stats;
}

}
