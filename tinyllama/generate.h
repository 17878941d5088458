// The generation loop: prompt tokens forced, then sampled, each decoded piece streamed
// to a sink as soon as it exists; timing statistics on the side.
//
// generate() tells a story: what reaches the sink is exactly the text of ../shared/reference
// (the prompt as the tokenizer renders it, the generated text, then a newline). Everything
// else (statistics, memory use) is for the caller to print elsewhere. run_generation() is
// the loop underneath, for any run that continues the KV cache: a chat turn forces its own
// tokens after the conversation's (tinyllama/chat/conversation.h) and streams only the reply.
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
    double prompt_ms;      // encoding and the prompt's forward passes before the first sample
    double tok_per_s;      // generation only: forward passes that sampled / their time
    double total_ms;
    double tuning_ms;      // of ttft: the micro-JIT generating and verifying kernels (it tunes
                           // only after the first token: this is the prefill defaults' share)
    bool stopped;          // ended early because TextSink::stop said so
    bool ended;            // the model ended the text (it sampled BOS, EOS or the end of turn)
    u32 timed_tokens;      // how many of token_ms are filled
    float token_ms[10];    // the first generated tokens' times (forward pass + sampling; the first
                           // one's is the sampling alone when a prefill block ran its pass)
    u32 sampled;           // ids written to GenerateRun::sampled (the ending token included)
    i32 cached_end;        // positions the KV cache now holds (the first one not computed)
    // A chat turn's (Conversation::reply): the conversation's positions after it, the
    // context, and the old turns dropped to make room for it.
    bool chat;
    u32 context_used;
    u32 context;
    u32 dropped_turns;
};

// One run of the loop: `count` forced tokens at positions start_pos, start_pos + 1, ...
// (the cache holds the positions before them), then sampled ones, one position at a time,
// until the model ends the text, TextSink::stop, or position end_pos: the last token
// sampled lands at end_pos, and is not computed.
struct GenerateRun {
    const i32* tokens;
    u32 count;               // >= 1
    i32 start_pos;
    i32 end_pos;             // start_pos <= end_pos <= seq_len
    bool echo;               // stream the forced tokens' pieces too (a story's prompt)
    i32 end_of_turn = -1;    // an id that ends the text besides BOS and EOS (ChatML's <|im_end|>)
    i32* sampled = nullptr;  // receives the sampled ids: room for end_pos - (start_pos + count) + 1
    u64 started = 0;         // the TSC at which the request began (ttft counts from it); 0: now
};

kl::ErrorOr<GenerateStats> run_generation(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler,
    const GenerateRun& run, TextSink& sink);

// Runs up to `steps` positions (0 or more than seq_len: seq_len). A prompt longer than
// the context is refused (PromptTooLong) rather than cut; see tinyllama/README.md.
kl::ErrorOr<GenerateStats> generate(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler, const char* prompt,
    i32 steps, TextSink& sink);

}
