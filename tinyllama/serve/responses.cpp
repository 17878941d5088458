// Response heads, JSON bodies and the event stream (see responses.h).
#include "tinyllama/serve/responses.h"

#include "kernel_lib/net/http.h"

namespace tllama::serve {

bool write_head(kl::TextBuffer& out, int status, const char* content_type, usize content_length, bool keep_alive,
    const char* extra_headers)
{
    return out.appendf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n%s\r\n", status,
        kl::http::reason_phrase(status), content_type, content_length, keep_alive ? "keep-alive" : "close",
        extra_headers);
}

bool write_json_response(kl::TextBuffer& out, int status, kl::StringView json, bool keep_alive,
    const char* extra_headers)
{
    return write_head(out, status, "application/json", json.length, keep_alive, extra_headers) && out.append(json);
}

void error_body(kl::JsonWriter& w, const ApiError& error)
{
    w.begin_object();
    w.key("error");
    w.begin_object();
    w.field("message", error.message);
    w.field("type", error.type);
    w.key("param");
    if (error.param)
        w.string(error.param);
    else
        w.null();
    w.key("code");
    if (error.code)
        w.string(error.code);
    else
        w.null();
    w.end_object();
    w.end_object();
}

void models_body(kl::JsonWriter& w, const char* model, u32 context_length, bool one_model_only)
{
    auto model_object = [&]() {
        w.begin_object();
        w.field("id", model);
        w.field("object", "model");
        w.field("created", static_cast<i64>(0));
        w.field("owned_by", "bareflow");
        w.field("context_length", static_cast<i64>(context_length));
        w.end_object();
    };
    if (one_model_only) {
        model_object();
        return;
    }
    w.begin_object();
    w.field("object", "list");
    w.key("data");
    w.begin_array();
    model_object();
    w.end_array();
    w.end_object();
}

const char* finish_reason(const Usage& usage) { return usage.hit_limit ? "length" : "stop"; }

namespace {

void usage_object(kl::JsonWriter& w, const Usage& usage)
{
    w.key("usage");
    w.begin_object();
    w.field("prompt_tokens", static_cast<i64>(usage.prompt_tokens));
    w.field("completion_tokens", static_cast<i64>(usage.completion_tokens));
    w.field("total_tokens", static_cast<i64>(usage.prompt_tokens + usage.completion_tokens));
    w.key("prompt_tokens_details");
    w.begin_object();
    w.field("cached_tokens", static_cast<i64>(usage.cached_tokens));
    w.end_object();
    w.end_object();
}

void header_fields(kl::JsonWriter& w, const CompletionInfo& info, const char* object)
{
    w.field("id", info.id);
    w.field("object", object);
    w.field("created", static_cast<i64>(info.created));
    w.field("model", info.model);
}

}

void completion_body(kl::JsonWriter& w, const CompletionInfo& info, kl::StringView text, const Usage& usage)
{
    const bool chat = info.request->chat;
    w.begin_object();
    header_fields(w, info, chat ? "chat.completion" : "text_completion");
    w.key("choices");
    w.begin_array();
    w.begin_object();
    w.field("index", static_cast<i64>(0));
    if (chat) {
        w.key("message");
        w.begin_object();
        w.field("role", "assistant");
        w.field("content", text);
        w.end_object();
    } else {
        w.field("text", text);
        w.key("logprobs");
        w.null();
    }
    w.field("finish_reason", finish_reason(usage));
    w.end_object();
    w.end_array();
    usage_object(w, usage);
    w.end_object();
}

void chunk_body(kl::JsonWriter& w, const CompletionInfo& info, kl::StringView text, bool first, const Usage* finish)
{
    const bool chat = info.request->chat;
    w.begin_object();
    header_fields(w, info, chat ? "chat.completion.chunk" : "text_completion");
    w.key("choices");
    w.begin_array();
    w.begin_object();
    w.field("index", static_cast<i64>(0));
    if (chat) {
        w.key("delta");
        w.begin_object();
        if (first)
            w.field("role", "assistant");
        if (text.length > 0 || !finish)
            w.field("content", text);
        w.end_object();
    } else {
        w.field("text", text);
        w.key("logprobs");
        w.null();
    }
    w.key("finish_reason");
    if (finish)
        w.string(finish_reason(*finish));
    else
        w.null();
    w.end_object();
    w.end_array();
    w.end_object();
}

void usage_chunk_body(kl::JsonWriter& w, const CompletionInfo& info, const Usage& usage)
{
    w.begin_object();
    header_fields(w, info, info.request->chat ? "chat.completion.chunk" : "text_completion");
    w.key("choices");
    w.begin_array();
    w.end_array();
    usage_object(w, usage);
    w.end_object();
}

bool begin_event_stream(kl::TextBuffer& out, bool keep_alive)
{
    return out.appendf("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                       "Transfer-Encoding: chunked\r\nConnection: %s\r\n\r\n",
        keep_alive ? "keep-alive" : "close");
}

bool append_event(kl::TextBuffer& out, kl::StringView data)
{
    // "data: " + data + "\n\n" as one chunk: its size in hex, CRLF, the bytes, CRLF.
    return out.appendf("%zx\r\ndata: ", data.length + 8) && out.append(data) && out.append("\n\n\r\n");
}

bool end_event_stream(kl::TextBuffer& out) { return append_event(out, "[DONE]") && out.append("0\r\n\r\n"); }

}
