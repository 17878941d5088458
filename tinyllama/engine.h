// The engine: one object that owns everything a run of the model needs -- the transformer
// (weights as views, run state, dispatcher slots), the tokenizer, the sampler and the
// micro-JIT binding -- opened by one function from the model bytes, the tokenizer bytes and
// the options. The kernel app (story, console, bench) and the host tool both use it, so
// the set-up, the notion of "is the JIT on" and the `@stats` line exist once.
//
//   EngineOptions options;  options.model_name = "stories15M.bin"; ...
//   Engine* engine = TRY(Engine::open(model, model_size, tokenizer, tokenizer_size, options));
//   GenerateStats stats = TRY(engine->generate("Once upon a time", 256, sink));
//   char json[1024];  engine->stats_json(stats, json, sizeof(json));   // the @stats object
//   Engine::close(engine);
//
// The model and tokenizer buffers stay owned by the caller and must outlive the engine
// (the weights are views into them).
#pragma once

#include "kernel_lib/base/error.h"
#include "tinyllama/chat/conversation.h"
#include "tinyllama/engine_jit.h"
#include "tinyllama/generate.h"
#include "tinyllama/sampler.h"
#include "tinyllama/tokenizer.h"
#include "tinyllama/transformer.h"

namespace tllama {

struct EngineOptions {
    const char* model_name = "model";         // for messages and @stats (kept as a pointer)
    i32 prefill_block = default_prefill_block;
    JitOptions jit;
    float temperature = 1.0f;
    float topp = 0.9f;
    u64 seed = 1;                             // the caller turns "from the clock" into a seed
    const char* profile = nullptr;            // warm start: a saved profile's text (optional)
    usize profile_size = 0;
};

class Engine {
public:
    // Parses and validates the model and the tokenizer, builds the run state, installs the
    // micro-JIT's default kernels (and the warm start's decisions), and prints the model
    // summary, the memory use and the JIT's set-up. Errors: those of parse_checkpoint,
    // build_tokenizer, OutOfMemory; an unusable profile is reported and ignored.
    static kl::ErrorOr<Engine*> open(const void* model, u64 model_size, const void* tokenizer, u64 tokenizer_size,
        const EngineOptions& options);
    // Releases an engine open() returned (null is fine).
    static void close(Engine* engine);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // One story: the prompt's tokens forced, then up to `steps` positions in all (0: the
    // model's context), each piece streamed to `sink` (see generate.h). The conversation's
    // next turn then recomputes its history.
    kl::ErrorOr<GenerateStats> generate(const char* prompt, i32 steps, TextSink& sink);

    // Chat (tinyllama/chat/): the family of the model's tokenizer.chat_template (None:
    // plain completion; chat_why() says why), and the one conversation the console,
    // MODE=chat and bareflow-host --chat hold in the KV cache (a turn: chat::answer_turn).
    chat::Family chat_family() const { return m_conversation.chat_template().family; }
    const char* chat_why() const { return m_chat_why; }
    chat::Conversation& conversation() { return m_conversation; }
    // A whole message list (the HTTP API) rendered and answered through the conversation
    // (which reuses what the previous request left in the KV cache, up to the first token
    // that differs), with at most max_tokens of reply. Errors: PromptTooLong,
    // InvalidArgument (roles the template refuses), OutOfMemory.
    kl::ErrorOr<GenerateStats> chat_completion(const chat::Message* messages, u32 count, u32 max_tokens,
        TextSink& sink);

    // The `@stats` JSON object of a run (without the "@stats " prefix): tokens, times,
    // tok/s, the JIT's share of the time to the first token, model, CPU, ISA, cores, memory.
    void stats_json(const GenerateStats& stats, char* buffer, usize size) const;
    // The one-line summary people read: "252 tokens, 3401.2 tok/s, first token after 7.8 ms".
    void stats_summary(const GenerateStats& stats, char* buffer, usize size) const;

    // Sampling: temperature and top-p apply from the next token on; reseed starts the RNG
    // again (the same seed tells the same story).
    void set_temperature(float temperature);
    void set_topp(float topp);
    void reseed(u64 seed);
    float temperature() const { return m_sampler.temperature; }
    float topp() const { return m_sampler.topp; }
    u64 seed() const { return m_seed; }

    // The micro-JIT: available when the engine was opened with it enabled; on/off switches
    // every kernel between the reference and the generated tiers (the console's /jit).
    EngineJit& jit() { return m_jit; }
    const EngineJit& jit() const { return m_jit; }
    // The profile table and `@profile` line of the run that took `cycles`.
    void report(double cycles);
    void reset_profile();

    Transformer& transformer() { return m_transformer; }
    const Transformer& transformer() const { return m_transformer; }
    const Tokenizer& tokenizer() const { return m_tokenizer; }
    const char* model_name() const { return m_model_name; }

private:
    explicit Engine(const EngineOptions& options);
    kl::ErrorOr<void> build(const void* model, u64 model_size, const void* tokenizer, u64 tokenizer_size,
        const EngineOptions& options);
    kl::ErrorOr<chat::Family> recognise_template();

    // Destroyed in reverse order: the JIT detaches from the transformer before it goes.
    Transformer m_transformer;
    Tokenizer m_tokenizer {};
    Sampler m_sampler {};
    EngineJit m_jit;
    chat::Conversation m_conversation;
    const char* m_chat_why = nullptr;
    const char* m_model_name;
    u64 m_seed;
};

}
