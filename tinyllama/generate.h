// The generation loop: prompt tokens forced, then sampled, each decoded piece streamed
// to a sink as soon as it exists; timing statistics on the side.
//
// What reaches the sink is exactly the text of ../shared/reference: the prompt as the
// tokenizer renders it, the generated text, then a newline. Everything else (statistics,
// memory use) is for the caller to print elsewhere.
#pragma once

#include "kernel_lib/base/error.h"
#include "tinyllama/sampler.h"
#include "tinyllama/tokenizer.h"
#include "tinyllama/transformer.h"

namespace tllama {

// Receives the text piece by piece (not NUL-terminated). `stop`, when set, is asked after
// every token whether to end the story early (the console's Ctrl-C).
struct TextSink {
    void (*write)(void* context, const char* bytes, usize length);
    void* context;
    bool (*stop)(void* context) = nullptr;
};

struct GenerateStats {
    u32 prompt_tokens;     // including BOS
    u32 generated_tokens;  // sampled tokens that were printed (a sampled BOS ends the text)
    u32 forward_passes;
    double ttft_ms;        // start of generate() (incl. encoding) to the first sampled token
    double prompt_ms;      // encoding and the prompt's forced forward passes
    double tok_per_s;      // generation only: forward passes that sampled / their time
    double total_ms;
    double tuning_ms;      // of ttft: the micro-JIT generating and verifying kernels (it tunes
                           // only after the first token: this is the prefill defaults' share)
    bool stopped;          // ended early because TextSink::stop said so
    u32 timed_tokens;      // how many of token_ms are filled
    float token_ms[10];    // the first generated tokens' times (forward pass + sampling)
};

// Runs up to `steps` positions (0 or more than seq_len: seq_len). A prompt longer than
// the context is refused (PromptTooLong) rather than cut; see tinyllama/README.md.
kl::ErrorOr<GenerateStats> generate(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler, const char* prompt,
    i32 steps, TextSink& sink);

}
