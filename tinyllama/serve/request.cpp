// Completion request validation (see request.h).
#include "tinyllama/serve/request.h"

#include <stdlib.h>
#include <string.h>

namespace tllama::serve {

namespace {

using kl::JsonType;
using kl::JsonValue;

// Sets `error` and answers false, so that a check reads as one line.
bool refuse(ApiError& error, const ApiError& why)
{
    error = why;
    return false;
}

ApiError invalid(const char* param, const char* message)
{
    return ApiError::make(400, "invalid_request_error", param, "%s", message);
}

// Present and not null: null means "the default" in OpenAI's API.
bool given(JsonValue v) { return v.present() && !v.is(JsonType::Null); }

// A field that, when present and not null, must have a given JSON type.
bool optional_of(JsonValue v, JsonType type)
{
    return !v.present() || v.is(JsonType::Null) || v.is(type) ||
        (type == JsonType::True && v.is(JsonType::False));
}

bool read_bool(JsonValue v, bool& out)
{
    if (v.is(JsonType::True) || v.is(JsonType::False)) {
        out = v.is(JsonType::True);
        return true;
    }
    return !v.present() || v.is(JsonType::Null);
}

bool is_role(JsonValue v)
{
    return v.string_equals("system") || v.string_equals("user") || v.string_equals("assistant") ||
        v.string_equals("developer");
}

// What a message's content is: a string, or an array of {"type": "text", "text": "..."}
// parts (joined), as the chat API allows.
bool content_parts_valid(JsonValue content)
{
    if (content.is(JsonType::String))
        return true;
    if (!content.is(JsonType::Array) || content.count() == 0)
        return false;
    JsonValue part = content.first();
    for (u32 i = 0; i < content.count(); ++i, part = part.next_sibling()) {
        if (!part.member("type").string_equals("text") || !part.member("text").is(JsonType::String))
            return false;
    }
    return true;
}

}

void ParsedRequest::release()
{
    free(m_strings);
    free(m_messages);
    m_strings = nullptr;
    m_messages = nullptr;
    m_strings_used = m_strings_capacity = 0;
    m_request = {};
}

// Copies a JSON string's unescaped bytes into the request's own storage.
const char* ParsedRequest::keep(JsonValue string)
{
    char* out = m_strings + m_strings_used;
    usize length = 0;
    VERIFY(string.get_string(out, m_strings_capacity - m_strings_used, &length));
    m_strings_used += length + 1;
    return out;
}

bool ParsedRequest::parse(const char* body, usize length, bool chat, u32 context_length, kl::JsonToken* tokens,
    u32 token_capacity, ApiError& error)
{
    release();
    auto document = kl::parse_json(body, length, tokens, token_capacity);
    if (document.is_error()) {
        error = ApiError::make(400, "invalid_request_error", nullptr, "the body is not valid JSON: %s",
            document.error().message());
        return false;
    }
    const kl::JsonDocument& doc = document.value();
    const JsonValue root = JsonValue::root(doc);
    if (!root.is(JsonType::Object)) {
        error = invalid(nullptr, "the body must be a JSON object");
        return false;
    }
    // Every kept string fits in the body's length plus one terminator per token.
    m_strings_capacity = length + doc.token_count + 1;
    m_strings = static_cast<char*>(malloc(m_strings_capacity));
    if (!m_strings) {
        error = ApiError::make(503, "server_error", nullptr, "out of memory for this request; try again later");
        return false;
    }
    m_request.chat = chat;
    const bool ok = read_common(root, context_length, error) &&
        (chat ? read_messages(root, error) : read_prompt(root, error));
    if (!ok) {
        release();
        return false;
    }
    return true;
}

bool ParsedRequest::read_common(JsonValue root, u32 context_length, ApiError& error)
{
    CompletionRequest& r = m_request;
    if (!optional_of(root.member("model"), JsonType::String))
        return refuse(error, invalid("model", "model must be a string"));
    // Chat completions run to the end of the text unless told; completions default to 16.
    r.max_tokens = r.chat ? context_length : (context_length < 16 ? context_length : 16);
    JsonValue max_tokens = root.member("max_tokens");
    if (r.chat && !given(max_tokens))
        max_tokens = root.member("max_completion_tokens");
    if (given(max_tokens)) {
        i64 value = 0;
        if (!max_tokens.get_integer(value, 1, context_length)) {
            error = ApiError::make(400, "invalid_request_error", "max_tokens",
                "max_tokens must be a whole number from 1 to %u (the model's context)", context_length);
            return false;
        }
        r.max_tokens = static_cast<u32>(value);
    }
    double number = 0;
    JsonValue temperature = root.member("temperature");
    if (given(temperature)) {
        if (!temperature.get_double(number, 0.0, 2.0))
            return refuse(error, invalid("temperature", "temperature must be a number from 0 to 2"));
        r.temperature = static_cast<float>(number);
    }
    JsonValue top_p = root.member("top_p");
    if (given(top_p)) {
        if (!top_p.get_double(number, 0.0, 1.0))
            return refuse(error, invalid("top_p", "top_p must be a number from 0 to 1"));
        r.top_p = static_cast<float>(number);
    }
    JsonValue seed = root.member("seed");
    if (given(seed)) {
        i64 value = 0;
        if (!seed.get_integer(value, 0, INT64_MAX))
            return refuse(error, invalid("seed", "seed must be a whole number from 0 to 2^63-1"));
        // Seed 0 would stall the sampler's xorshift; it means "pick one", as SEED=0 does.
        r.seed = static_cast<u64>(value);
        r.seed_given = value != 0;
    }
    if (!read_bool(root.member("stream"), r.stream))
        return refuse(error, invalid("stream", "stream must be true or false"));
    JsonValue options = root.member("stream_options");
    if (!optional_of(options, JsonType::Object) || !read_bool(options.member("include_usage"), r.include_usage))
        return refuse(error, invalid("stream_options", "stream_options must be an object like {\"include_usage\": true}"));
    i64 one = 1;
    if (given(root.member("n")) && !root.member("n").get_integer(one, 1, 1))
        return refuse(error, invalid("n", "n must be 1: this server returns one choice per request"));
    if (given(root.member("best_of")) && !root.member("best_of").get_integer(one, 1, 1))
        return refuse(error, invalid("best_of", "best_of must be 1"));
    bool flag = false;
    if (!read_bool(root.member("echo"), flag) || flag)
        return refuse(error, invalid("echo", "echo is not supported"));
    JsonValue logprobs = root.member("logprobs");
    if (given(logprobs) && !logprobs.is(JsonType::False))
        return refuse(error, invalid("logprobs", "logprobs are not supported"));
    if (given(root.member("suffix")))
        return refuse(error, invalid("suffix", "suffix is not supported"));
    return read_stop(root.member("stop"), error);
}

bool ParsedRequest::read_stop(JsonValue stop, ApiError& error)
{
    if (!given(stop))
        return true;
    const char* expected = "stop must be a string or an array of up to 4 strings of 1 to 64 bytes";
    auto add = [&](JsonValue s) {
        const usize length = s.unescaped_length();
        if (!s.is(JsonType::String) || length == 0 || length > max_stop_bytes ||
            m_request.stop_count == max_stop_sequences)
            return false;
        m_request.stop[m_request.stop_count++] = keep(s);
        return true;
    };
    if (stop.is(JsonType::String)) {
        if (!add(stop))
            return refuse(error, invalid("stop", expected));
        return true;
    }
    if (!stop.is(JsonType::Array) || stop.count() > max_stop_sequences)
        return refuse(error, invalid("stop", expected));
    JsonValue s = stop.first();
    for (u32 i = 0; i < stop.count(); ++i, s = s.next_sibling()) {
        if (!add(s))
            return refuse(error, invalid("stop", expected));
    }
    return true;
}

bool ParsedRequest::read_prompt(JsonValue root, ApiError& error)
{
    JsonValue prompt = root.member("prompt");
    if (prompt.is(JsonType::Array) && prompt.count() == 1)
        prompt = prompt.first();
    if (!prompt.is(JsonType::String)) {
        error = invalid("prompt", prompt.present() ? "prompt must be a string (or an array of one string)"
                                                   : "prompt is missing: you must provide a prompt");
        return false;
    }
    m_request.prompt = keep(prompt);
    if (strlen(m_request.prompt) != prompt.unescaped_length())
        return refuse(error, invalid("prompt", "prompt must not contain NUL characters"));
    return true;
}

bool ParsedRequest::read_messages(JsonValue root, ApiError& error)
{
    JsonValue messages = root.member("messages");
    if (!messages.is(JsonType::Array) || messages.count() == 0 || messages.count() > max_chat_messages)
        return refuse(error, invalid("messages", "messages must be an array of 1 to 64 messages"));
    m_messages = static_cast<ChatMessage*>(calloc(messages.count(), sizeof(ChatMessage)));
    if (!m_messages) {
        error = ApiError::make(503, "server_error", nullptr, "out of memory for this request; try again later");
        return false;
    }
    JsonValue m = messages.first();
    for (u32 i = 0; i < messages.count(); ++i, m = m.next_sibling()) {
        JsonValue role = m.member("role"), content = m.member("content");
        if (!m.is(JsonType::Object) || !is_role(role) || !content_parts_valid(content)) {
            error = ApiError::make(400, "invalid_request_error", "messages",
                "messages[%u] must be {\"role\": \"system\"|\"user\"|\"assistant\"|\"developer\", \"content\": "
                "a string or text parts}",
                i);
            return false;
        }
        m_messages[i].role = keep(role);
        if (content.is(JsonType::String)) {
            m_messages[i].content = keep(content);
            continue;
        }
        // Text parts are joined: each is copied after the previous one, over its NUL.
        char* joined = m_strings + m_strings_used;
        JsonValue part = content.first();
        for (u32 k = 0; k < content.count(); ++k, part = part.next_sibling()) {
            if (k > 0)
                --m_strings_used;
            keep(part.member("text"));
        }
        m_messages[i].content = joined;
    }
    m_request.messages = m_messages;
    m_request.message_count = messages.count();
    return true;
}

}
