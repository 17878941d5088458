// The generation loop (see generate.h and formats.md, "Sampling").
//
// Timing (TSC): ttft runs from entry (encoding included) to the first sampled token;
// the generation rate counts the forward passes whose logits were sampled (the first one
// processes the last prompt token) over their wall time, printing included.
#include "tinyllama/generate.h"

#include <string.h>

#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/time/tsc.h"
#include "microjit/profiler.h"

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

}

ErrorOr<GenerateStats> generate(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler, const char* prompt,
    i32 steps, TextSink& sink)
{
    GenerateStats stats {};
    const u64 start = kl::time::rdtsc_begin();
    const i32 seq_len = t.config.seq_len;
    if (steps <= 0 || steps > seq_len)
        steps = seq_len;

    const u64 length = strlen(prompt);
    TokenBuffer buffer;
    i32* tokens = TRY(buffer.allocate(encode_capacity(length)));
    const u32 prompt_tokens = TRY(encode(tokenizer, prompt, length, true, false, tokens, encode_capacity(length)));
    if (prompt_tokens > static_cast<u32>(seq_len))
        return Error::make(ErrorCode::PromptTooLong,
            "the prompt is %u tokens, but the model's context (seq_len) is %d tokens: shorten the prompt", prompt_tokens, seq_len);
    stats.prompt_tokens = prompt_tokens;

    const i32 last_prompt_pos = static_cast<i32>(prompt_tokens) - 1;
    u64 sampling_start = 0, first_token = 0;
    i32 pos = 0;

    // Batched prefill: whole blocks of forced prompt tokens go through the layers at once
    // (bit-identical to one token at a time); the rest of the prompt, and the last prompt
    // token, whose logits are sampled, take the usual path below.
    const i32 block = t.prefill_block;
    const i32 forced_end = last_prompt_pos < steps ? last_prompt_pos : steps;
    while (block > 1 && pos + block <= forced_end) {
        forward_block(t, tokens + pos, pos);
        stats.forward_passes += static_cast<u32>(block);
        for (i32 i = pos; i < pos + block; ++i) {
            const TokenPiece piece = decode(tokenizer, tokens[i], tokens[i + 1]);
            if (is_printable_piece(piece))
                sink.write(sink.context, reinterpret_cast<const char*>(piece.bytes), piece.length);
        }
        pos += block;
        if (sink.stop && sink.stop(sink.context)) {
            stats.stopped = true;
            steps = pos;  // the loop below then only finishes the text
        }
    }

    i32 token = tokens[pos];
    for (; pos < steps; ++pos) {
        const u64 pass_start = kl::time::rdtsc_begin();
        if (pos == last_prompt_pos)
            sampling_start = pass_start;
        float* logits = forward(t, token, pos);
        ++stats.forward_passes;
        i32 next;
        if (pos < last_prompt_pos) {
            next = tokens[pos + 1];
        } else {
            {
                mjit::PhaseScope phase(mjit::Phase::Sampler);
                next = sample(sampler, logits);
            }
            const u64 pass_end = kl::time::rdtsc_end();
            if (first_token == 0)
                first_token = pass_end;
            if (stats.timed_tokens < sizeof(stats.token_ms) / sizeof(stats.token_ms[0]))
                stats.token_ms[stats.timed_tokens++] = static_cast<float>(kl::time::cycles_to_ms(pass_end - pass_start));
        }
        if (next == token_bos)
            break;  // the model ended the text
        if (pos >= last_prompt_pos)
            ++stats.generated_tokens;
        const TokenPiece piece = decode(tokenizer, token, next);
        if (is_printable_piece(piece))
            sink.write(sink.context, reinterpret_cast<const char*>(piece.bytes), piece.length);
        token = next;
        if (sink.stop && sink.stop(sink.context)) {
            stats.stopped = true;
            break;
        }
    }
    sink.write(sink.context, "\n", 1);

    const u64 end = kl::time::rdtsc_end();
    stats.total_ms = kl::time::cycles_to_ms(end - start);
    stats.ttft_ms = first_token ? kl::time::cycles_to_ms(first_token - start) : 0.0;
    stats.prompt_ms = sampling_start ? kl::time::cycles_to_ms(sampling_start - start) : stats.total_ms;
    const u32 sampling_passes = sampling_start ? stats.forward_passes - static_cast<u32>(last_prompt_pos) : 0;
    const double sampling_s = sampling_start ? kl::time::cycles_to_s(end - sampling_start) : 0.0;
    stats.tok_per_s = sampling_s > 0.0 ? sampling_passes / sampling_s : 0.0;
    return stats;
}

}
