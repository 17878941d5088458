// Reading and validating the body of POST /v1/completions and /v1/chat/completions.
//
// The body is parsed with kl::parse_json into the caller's token array, then every field
// the server understands is checked for type and range, with OpenAI's names and an error
// that names the field ("max_tokens must be a whole number from 1 to 512"). Fields it does
// not know are ignored, as OpenAI-compatible servers do, except those that would silently
// change the answer (n > 1, echo, logprobs, suffix, best_of > 1): those are refused.
// The strings the request keeps (prompt, messages, stop sequences) are unescaped into one
// allocation that the ParsedRequest owns and frees.
#pragma once

#include "kernel_lib/text/json.h"
#include "tinyllama/serve/api_error.h"
#include "tinyllama/serve/backend.h"

namespace tllama::serve {

constexpr usize max_stop_bytes = 64;

class ParsedRequest {
public:
    ParsedRequest() = default;
    ~ParsedRequest() { release(); }
    ParsedRequest(const ParsedRequest&) = delete;
    ParsedRequest& operator=(const ParsedRequest&) = delete;

    // Parses `body` for the completions endpoint (chat = false) or the chat one. On failure
    // `error` says why (400, or 500 when memory ran out) and the request is empty.
    bool parse(const char* body, usize length, bool chat, u32 context_length, kl::JsonToken* tokens, u32 token_capacity,
        ApiError& error);

    const CompletionRequest& request() const { return m_request; }
    // Frees the strings; the request is empty afterwards.
    void release();

private:
    bool read_common(kl::JsonValue root, u32 context_length, ApiError& error);
    bool read_prompt(kl::JsonValue root, ApiError& error);
    bool read_messages(kl::JsonValue root, ApiError& error);
    bool read_stop(kl::JsonValue stop, ApiError& error);
    const char* keep(kl::JsonValue string);

    CompletionRequest m_request;
    ChatMessage* m_messages = nullptr;
    char* m_strings = nullptr;
    usize m_strings_used = 0;
    usize m_strings_capacity = 0;
};

}
