// The generation loop (see generate.h and formats.md, "Sampling").
//
// Timing (TSC): ttft runs from entry (encoding included) to the first sampled token;
// the generation rate counts the forward passes whose logits were sampled (the first one
// processes the last prompt token, unless a prefill block did) over their wall time,
// printing included.
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

// Owns a story prompt's token buffer for the length of one generate() call.
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
    const i32* tokens() const { return m_tokens; }

private:
    i32* m_tokens = nullptr;
};

// One run of the loop: its tokens, where it is, and its clocks. Forced token i sits at
// position start + i.
struct Run {
    Transformer& t;
    const Tokenizer& tokenizer;
    Sampler& sampler;
    TextSink& sink;
    const GenerateRun& request;
    const i32* tokens = nullptr;
    i32 start = 0;
    i32 steps = 0;           // end_pos
    i32 last_prompt_pos = 0;
    i32 pos = 0;
    float* block_logits = nullptr;  // the last prompt token's, when a prefill block ran it
    u32 sampling_passes = 0;        // the token loop's forward passes whose logits it sampled
    u64 start_tsc = 0;
    u64 sampling_start = 0;
    u64 first_token = 0;
    u64 jit_cycles_at_start = 0;
    GenerateStats stats {};

    i32 forced(i32 at) const { return tokens[at - start]; }
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
ErrorOr<u32> encode_prompt(const Tokenizer& tokenizer, i32 seq_len, TokenBuffer& buffer, const char* prompt)
{
    const u64 length = strlen(prompt);
    i32* tokens = TRY(buffer.allocate(encode_capacity(length)));
    const bool bos = tokenizer.add_bos || length == 0;
    const u32 count = TRY(encode(tokenizer, prompt, length, bos, false, tokens, encode_capacity(length)));
    if (count > static_cast<u32>(seq_len))
        return Error::make(ErrorCode::PromptTooLong,
            "the prompt is %u tokens, but the model's context (seq_len) is %d tokens: shorten the prompt", count, seq_len);
    return count;
}

// Batched prefill: whole blocks of prompt tokens go through the layers at once
// (bit-identical to one token at a time), up to and including the last prompt token when
// the run gets there: the block that ends with it also returns its logits, from which the
// token loop samples the first token. The rest of the prompt takes the token-by-token
// path. Tokens left over that fill at least half a block go as one more block ending at
// the last of them: it overlaps the previous block, whose tokens it computes again,
// rewriting their cache rows with the same bits. (A 16-token block costs about 5 single
// passes of TinyLlama Q4_K_M, 3 of stories110M: with 8 or 9 tokens left over, TinyLlama's
// first token came 1.3-1.4x sooner than with the 3/4 of a block this asked before.)
void prefill(Run& r)
{
    const i32 block = r.t.prefill_block;
    const i32 prompt_end = r.last_prompt_pos < r.steps ? r.last_prompt_pos + 1 : r.steps;
    while (block > 1 && r.pos < prompt_end && !r.block_logits) {
        const i32 pos0 = r.pos + block <= prompt_end ? r.pos : prompt_end - block;
        if (pos0 < r.start || 2 * (prompt_end - r.pos) < block)
            break;
        const i32 end = pos0 + block;
        r.block_logits = forward_block(r.t, r.tokens + (pos0 - r.start), pos0, end > r.last_prompt_pos);
        r.stats.forward_passes += static_cast<u32>(end - r.pos);
        for (i32 i = r.pos; r.request.echo && i < end && i < r.last_prompt_pos; ++i)
            emit(r, r.forced(i), r.forced(i + 1));
        // The last prompt token's pass is done; the token loop takes it from its logits.
        r.pos = r.block_logits ? r.last_prompt_pos : end;
        r.stats.cached_end = end;
        if (stop_requested(r))
            r.steps = r.pos;  // the token loop then only finishes the text
    }
}

// The next token after the pass at r.pos: forced while in the prompt, sampled after.
i32 next_token(Run& r, float* logits, u64 pass_start)
{
    if (r.pos < r.last_prompt_pos)
        return r.forced(r.pos + 1);
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

bool ends_text(const Run& r, i32 token)
{
    return token == r.tokenizer.bos_id || token == r.tokenizer.eos_id || token == r.request.end_of_turn;
}

// Token by token from r.pos: the rest of the prompt, then sampled tokens, until `steps`,
// a sampled BOS, EOS or end of turn (the model ended the text: llama2.c's stories end with
// BOS, GGUF models with EOS) or a stop request. Every sampled id goes to request.sampled.
void token_loop(Run& r)
{
    i32 token = r.forced(r.pos);
    for (; r.pos < r.steps; ++r.pos) {
        const u64 pass_start = kl::time::rdtsc_begin();
        if (r.pos == r.last_prompt_pos)
            r.sampling_start = pass_start;
        float* logits = r.block_logits;
        r.block_logits = nullptr;
        if (!logits) {
            logits = forward(r.t, token, r.pos);
            ++r.stats.forward_passes;
            r.stats.cached_end = r.pos + 1;
            r.sampling_passes += r.pos >= r.last_prompt_pos;
        }
        const i32 next = next_token(r, logits, pass_start);
        const bool sampled = r.pos >= r.last_prompt_pos;
        if (sampled && r.request.sampled)
            r.request.sampled[r.stats.sampled++] = next;
        if (sampled && ends_text(r, next)) {
            r.stats.ended = true;
            break;
        }
        if (sampled)
            ++r.stats.generated_tokens;
        if (sampled || r.request.echo)
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
    s.total_ms = kl::time::cycles_to_ms(end - r.start_tsc);
    s.ttft_ms = r.first_token ? kl::time::cycles_to_ms(r.first_token - r.start_tsc) : 0.0;
    s.prompt_ms = r.sampling_start ? kl::time::cycles_to_ms(r.sampling_start - r.start_tsc) : s.total_ms;
    const double sampling_s = r.sampling_start ? kl::time::cycles_to_s(end - r.sampling_start) : 0.0;
    s.tok_per_s = sampling_s > 0.0 ? r.sampling_passes / sampling_s : 0.0;
}

}

ErrorOr<GenerateStats> run_generation(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler,
    const GenerateRun& request, TextSink& sink)
{
    VERIFY(request.count >= 1 && request.start_pos >= 0 && request.end_pos <= t.config.seq_len);
    VERIFY(request.start_pos + static_cast<i32>(request.count) <= t.config.seq_len);
    Run r { t, tokenizer, sampler, sink, request };
    r.start_tsc = request.started ? request.started : kl::time::rdtsc_begin();
    r.jit_cycles_at_start = jit_cycles(t);
    r.tokens = request.tokens;
    r.start = r.pos = request.start_pos;
    r.steps = request.end_pos;
    r.last_prompt_pos = request.start_pos + static_cast<i32>(request.count) - 1;
    r.stats.prompt_tokens = request.count;
    r.stats.cached_end = request.start_pos;
    hold_tuning(t, true);
    prefill(r);
    token_loop(r);
    hold_tuning(t, false);
    finish_stats(r);
    return r.stats;
}

ErrorOr<GenerateStats> generate(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler, const char* prompt,
    i32 steps, TextSink& sink)
{
    const u64 started = kl::time::rdtsc_begin();
    TokenBuffer buffer;
    const u32 count = TRY(encode_prompt(tokenizer, t.config.seq_len, buffer, prompt));
    GenerateRun run {};
    run.tokens = buffer.tokens();
    run.count = count;
    run.end_pos = steps <= 0 || steps > t.config.seq_len ? t.config.seq_len : steps;
    run.echo = true;
    run.started = started;
    const GenerateStats stats = TRY(run_generation(t, tokenizer, sampler, run, sink));
    sink.write(sink.context, "\n", 1);
    return stats;
}

}
