// Host-only: the perplexity of a text under the model, computed the way llama.cpp's
// perplexity tool computes it, so that a quantisation's quality can be set beside
// llama.cpp's published figures.
//
//   the text is tokenized once (BOS first when the tokenizer adds it); it is cut into
//   chunks of `context` tokens (the rest dropped); each chunk runs from position 0 with its
//   first token replaced by BOS; only the second half is scored: the logits at positions
//   context/2 .. context-2 against the tokens that follow them;
//   -log p(token) = -(logit - max - log(sum of expf(logit_i - max))), sums in double;
//   PPL = exp(mean), and its uncertainty sqrt(var / (count - 1)) * PPL.
//
// The first half of a chunk (no logits needed) goes through batched prefill.
#pragma once

#include "kernel_lib/base/error.h"
#include "tinyllama/tokenizer.h"
#include "tinyllama/transformer.h"

namespace tllama::host {

// log p(token) for a row of logits, as llama.cpp computes it: the maximum in float, the
// sum of expf(logit - max) in double.
double log_softmax(const float* logits, i32 vocab_size, i32 token);

// The running sums of the scored tokens' negative log-likelihoods.
struct NllSum {
    double nll = 0.0;
    double nll2 = 0.0;
    u64 count = 0;

    void add(double value);
    double perplexity() const;
    // sqrt(variance / (count - 1)) * perplexity; 0 when the variance is not positive.
    double uncertainty() const;
};

struct PerplexityProgress {
    // After each chunk: its 0-based index, the chunk count, the running sums.
    void (*chunk_done)(void* context, u32 chunk, u32 chunks, const NllSum& sum);
    void* context;
};

// The tokens of `text` as perplexity() feeds them (BOS first when the tokenizer adds it),
// into a buffer it allocates (release with kl::mem::release).
struct TokenList {
    i32* ids = nullptr;
    u32 count = 0;
};
kl::ErrorOr<TokenList> tokenize_text(const Tokenizer& tokenizer, const char* text, u64 length);

// Errors: InvalidArgument when `context` is outside [4, the transformer's seq_len] or the
// text has fewer than 2 * context tokens (llama.cpp's rule; the message says how many).
kl::ErrorOr<NllSum> perplexity(Transformer& t, const Tokenizer& tokenizer, const TokenList& tokens, i32 context,
    const PerplexityProgress& progress);

}
