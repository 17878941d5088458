// The server's view of the engine: what a completion request asks for, and the small
// interface the HTTP side calls to run it.
//
// Everything in tinyllama/serve talks to a Backend, never to the engine directly, so the
// whole HTTP API (routing, validation, streaming, queueing, metrics) is host-testable with
// a fake backend. The kernel's backend is tinyllama/kernel_app/serve_backend.kernel.cpp,
// a thin adapter on the kernel application's engine.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/text/text_buffer.h"

namespace tllama::serve {

constexpr u32 max_stop_sequences = 4;
constexpr u32 max_chat_messages = 64;

struct ChatMessage {
    const char* role;     // "system", "user", "assistant" or "developer"
    const char* content;
};

// One request, validated (tinyllama/serve/request.h). Strings are NUL-terminated and owned
// by the ParsedRequest that made them.
struct CompletionRequest {
    bool chat = false;
    const char* prompt = "";                 // /v1/completions
    const ChatMessage* messages = nullptr;   // /v1/chat/completions
    u32 message_count = 0;
    u32 max_tokens = 16;                     // tokens to generate (the context caps it too)
    float temperature = 1.0f;
    float top_p = 1.0f;
    u64 seed = 0;                            // used when seed_given; else the backend picks one
    bool seed_given = false;
    const char* stop[max_stop_sequences] = {};
    u32 stop_count = 0;
    bool stream = false;
    bool include_usage = false;              // stream_options.include_usage
};

struct Usage {
    u32 prompt_tokens = 0;       // as the engine counts them (BOS included)
    u32 cached_tokens = 0;       // of those, the positions the KV cache already held (a chat
                                 // request that starts as the previous one did)
    u32 completion_tokens = 0;
    bool hit_limit = false;      // ended by max_tokens or the context, not by the model
    double ttft_ms = 0;          // request start to the first generated token
    double tok_per_s = 0;        // generation rate (as the console's @stats reports it)
};

// Receives a completion's text as it is generated.
class TokenSink {
public:
    // The next piece of the completion (not the prompt), as soon as it exists.
    virtual void text(const char* bytes, usize length) = 0;
    // Asked between tokens: true ends the generation now (client gone, stop sequence seen,
    // reader too slow). Also where the server keeps the network going meanwhile.
    virtual bool should_stop() = 0;

protected:
    ~TokenSink() = default;
};

class Backend {
public:
    virtual const char* model_name() const = 0;
    virtual u32 context_length() const = 0;
    // Whether the model has a chat template BareFlow renders (tinyllama/chat/); if not,
    // /v1/chat/completions answers 501.
    virtual bool chat_supported() const = 0;
    // Runs one completion, streaming its text to `sink`. A prompt the context cannot hold
    // is ErrorCode::PromptTooLong (answered 400); other errors are answered 500.
    virtual kl::ErrorOr<Usage> complete(const CompletionRequest& request, TokenSink& sink) = 0;
    // Extra Prometheus lines (the micro-JIT's kernel tiers, ...); none by default.
    virtual void write_metrics(kl::TextBuffer&) const {}

protected:
    ~Backend() = default;
};

}
