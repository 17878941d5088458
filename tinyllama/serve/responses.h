// What the server writes: HTTP/1.1 response heads, OpenAI-style JSON bodies, and the
// Server-Sent Events stream of a `"stream": true` completion.
//
// A stream is sent with chunked transfer coding so that the connection can stay open
// afterwards: each event is one HTTP chunk holding "data: <json>\n\n", the last event is
// "data: [DONE]\n\n", and the zero-size chunk ends the response. Every function appends to a
// capped TextBuffer and returns false when the cap is reached.
#pragma once

#include "kernel_lib/text/json.h"
#include "tinyllama/serve/api_error.h"
#include "tinyllama/serve/backend.h"

namespace tllama::serve {

// The identity of one completion, repeated in every chunk of its stream.
struct CompletionInfo {
    const CompletionRequest* request;
    const char* id;          // "cmpl-7", "chatcmpl-7"
    u64 created;             // Unix time (0 when the machine has no clock)
    const char* model;
};

// "HTTP/1.1 <status> <reason>" with Content-Type, Content-Length and Connection, then
// `extra_headers` (each ending in CRLF, may be ""), then the empty line.
bool write_head(kl::TextBuffer& out, int status, const char* content_type, usize content_length, bool keep_alive,
    const char* extra_headers = "");
// A whole response with a JSON body (the head's length is the body's).
bool write_json_response(kl::TextBuffer& out, int status, kl::StringView json, bool keep_alive,
    const char* extra_headers = "");

// {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
void error_body(kl::JsonWriter& w, const ApiError& error);
// GET /v1/models: one model, the one loaded.
void models_body(kl::JsonWriter& w, const char* model, u32 context_length, bool one_model_only);
// The non-streamed answer: text_completion or chat.completion, with usage.
void completion_body(kl::JsonWriter& w, const CompletionInfo& info, kl::StringView text, const Usage& usage);
// One streamed chunk: text (or the chat delta), finish_reason null until the last one.
// `first` adds the chat delta's role; `finish` ends the choice with its reason.
void chunk_body(kl::JsonWriter& w, const CompletionInfo& info, kl::StringView text, bool first, const Usage* finish);
// The extra chunk of stream_options.include_usage: no choices, the usage.
void usage_chunk_body(kl::JsonWriter& w, const CompletionInfo& info, const Usage& usage);

// The head of an event stream (200, text/event-stream, chunked).
bool begin_event_stream(kl::TextBuffer& out, bool keep_alive);
// One event "data: <json>\n\n" in its own HTTP chunk.
bool append_event(kl::TextBuffer& out, kl::StringView data);
// "data: [DONE]" and the last (empty) chunk.
bool end_event_stream(kl::TextBuffer& out);

const char* finish_reason(const Usage& usage);

}
