// Perplexity the way llama.cpp measures it (see perplexity.h).
#include "tinyllama/host/perplexity.h"

#include <math.h>

#include "kernel_lib/mem/alloc.h"

namespace tllama::host {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

double log_softmax(const float* logits, i32 vocab_size, i32 token)
{
    float max_logit = logits[0];
    for (i32 i = 1; i < vocab_size; ++i)
        max_logit = logits[i] > max_logit ? logits[i] : max_logit;
    double sum_exp = 0.0;
    for (i32 i = 0; i < vocab_size; ++i)
        sum_exp += expf(logits[i] - max_logit);
    return logits[token] - max_logit - log(sum_exp);
}

void NllSum::add(double value)
{
    nll += value;
    nll2 += value * value;
    ++count;
}

double NllSum::perplexity() const
{
    return exp(nll / static_cast<double>(count));
}

double NllSum::uncertainty() const
{
    const double mean = nll / static_cast<double>(count);
    const double variance = nll2 / static_cast<double>(count) - mean * mean;
    if (!(variance > 0.0) || count < 2)
        return 0.0;
    return sqrt(variance / static_cast<double>(count - 1)) * perplexity();
}

ErrorOr<TokenList> tokenize_text(const Tokenizer& tokenizer, const char* text, u64 length)
{
    TokenList list;
    const u64 capacity = encode_capacity(length);
    list.ids = static_cast<i32*>(TRY(kl::mem::allocate(capacity * sizeof(i32), alignof(i32), "the text's tokens")));
    auto count = encode(tokenizer, text, length, tokenizer.add_bos, false, list.ids, capacity);
    if (count.is_error()) {
        kl::mem::release(list.ids);
        return count.release_error();
    }
    list.count = count.value();
    return list;
}

namespace {

// One chunk from position 0: the first half through batched prefill where whole blocks
// fit, the rest token by token, scoring the logits from position `first` on.
void run_chunk(Transformer& t, const i32* tokens, i32 context, NllSum& sum)
{
    const i32 first = context / 2;
    const i32 block = t.prefill_block;
    i32 pos = 0;
    while (block > 1 && pos + block <= first) {
        forward_block(t, tokens + pos, pos);
        pos += block;
    }
    for (; pos < context - 1; ++pos) {
        const float* logits = forward(t, tokens[pos], pos);
        if (pos >= first)
            sum.add(-log_softmax(logits, t.config.vocab_size, tokens[pos + 1]));
    }
}

}

ErrorOr<NllSum> perplexity(Transformer& t, const Tokenizer& tokenizer, const TokenList& tokens, i32 context,
    const PerplexityProgress& progress)
{
    if (context < 4 || context > t.config.seq_len)
        return Error::make(ErrorCode::InvalidArgument, "the perplexity context must be 4 to %d tokens (the model's context), got %d",
            t.config.seq_len, context);
    if (tokens.count < 2 * static_cast<u32>(context))
        return Error::make(ErrorCode::InvalidArgument,
            "the text is %u tokens; a perplexity over a context of %d needs at least %d: give a longer text or a smaller --ctx",
            tokens.count, context, 2 * context);
    const u32 chunks = tokens.count / static_cast<u32>(context);
    i32* chunk = static_cast<i32*>(TRY(kl::mem::allocate(static_cast<usize>(context) * sizeof(i32), alignof(i32), "a chunk's tokens")));
    NllSum sum;
    for (u32 c = 0; c < chunks; ++c) {
        for (i32 i = 0; i < context; ++i)
            chunk[i] = tokens.ids[static_cast<u64>(c) * static_cast<u64>(context) + static_cast<u64>(i)];
        if (tokenizer.add_bos)
            chunk[0] = tokenizer.bos_id;
        run_chunk(t, chunk, context, sum);
        if (progress.chunk_done)
            progress.chunk_done(progress.context, c, chunks, sum);
    }
    kl::mem::release(chunk);
    return sum;
}

}
