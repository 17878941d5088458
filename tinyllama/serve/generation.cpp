// Running one completion for a connection (Server::run, see server.h): the token sink that
// streams the text as Server-Sent Events or collects it, keeps the network going between
// tokens, and stops when the client is gone or cannot keep up.
#include <string.h>

#include "kernel_lib/libc/format.h"
#include "tinyllama/serve/connection.h"
#include "tinyllama/serve/responses.h"
#include "tinyllama/serve/server.h"

namespace tllama::serve {

namespace {

constexpr usize chunk_json_bytes = 8 * max_completion_bytes;

}

class Server::Generation final : public TokenSink {
public:
    Generation(Server& server, Connection& c, const CompletionInfo& info)
        : m_server(server), m_c(c), m_info(info), m_json(chunk_json_bytes)
    {
        m_text.reset(*info.request);
    }

    void text(const char* bytes, usize length) override
    {
        if (!m_text.add(bytes, length))
            m_ended = true;
        if (m_info.request->stream)
            send_ready(nullptr);
    }

    bool should_stop() override
    {
        m_server.m_platform.pump();
        return m_ended || cancelled();
    }

    bool cancelled() const { return m_c.gone || m_c.peer_done || m_overflow; }
    bool stream_started() const { return m_stream_started; }
    CompletionText& completion() { return m_text; }

    // Sends what is ready as one event; `finish` (the usage) makes it the choice's last.
    void send_ready(const Usage* finish)
    {
        const kl::StringView ready = m_text.ready();
        if (ready.length == 0 && !finish)
            return;
        start_stream();
        m_json.clear();
        kl::JsonWriter w(m_json);
        chunk_body(w, m_info, ready, !m_sent_first, finish);
        m_sent_first = true;
        m_text.take(ready.length);
        send_event(w.ok());
    }

    void send_usage(const Usage& usage)
    {
        m_json.clear();
        kl::JsonWriter w(m_json);
        usage_chunk_body(w, m_info, usage);
        send_event(w.ok());
    }

    void send_error_event(const ApiError& error)
    {
        m_json.clear();
        kl::JsonWriter w(m_json);
        error_body(w, error);
        send_event(w.ok());
    }

    void end_stream()
    {
        if (!end_event_stream(m_c.out))
            m_overflow = true;
    }

private:
    void start_stream()
    {
        if (m_stream_started)
            return;
        m_stream_started = true;
        if (!begin_event_stream(m_c.out, m_c.keep_alive))
            m_overflow = true;
    }

    void send_event(bool json_ok)
    {
        // A client that lets this much output pile up is too slow: it loses its stream
        // rather than hold the engine.
        if (!json_ok || !append_event(m_c.out, m_json.view()))
            m_overflow = true;
    }

    Server& m_server;
    Connection& m_c;
    CompletionInfo m_info;
    CompletionText m_text;
    kl::TextBuffer m_json;
    bool m_ended = false;
    bool m_overflow = false;
    bool m_stream_started = false;
    bool m_sent_first = false;
};

void Server::run(Connection& c)
{
    c.phase = Phase::Generating;
    const CompletionRequest& request = c.parsed.request();
    char id[32];
    kl::snprintf(id, sizeof(id), "%s-%llu", request.chat ? "chatcmpl" : "cmpl",
        static_cast<unsigned long long>(++m_completion_serial));
    const CompletionInfo info { &request, id, m_platform.unix_time(), m_backend.model_name() };
    Generation generation(*this, c, info);
    auto result = m_backend.complete(request, generation);
    const bool cancelled = generation.cancelled();
    char detail[160];

    if (cancelled || c.gone) {
        const Usage usage = result.is_error() ? Usage {} : result.value();
        m_metrics.count_completion(usage, true);
        kl::snprintf(detail, sizeof(detail), "cancelled after %u tokens: %s", usage.completion_tokens,
            c.gone || c.peer_done ? "the client left" : "the client does not read fast enough");
        log_request(c, 499, detail);
        if (c.gone)
            return end_connection(c);
        c.abort_now = true;
        c.phase = Phase::Closing;
        c.parsed.release();
        return;
    }
    if (result.is_error()) {
        // A prompt the context cannot hold, or messages the chat template refuses (Llama-2's
        // alternating roles), are the client's to fix.
        const bool too_long = result.error().code() == kl::ErrorCode::PromptTooLong;
        const bool refused = too_long || result.error().code() == kl::ErrorCode::InvalidArgument;
        ApiError error = ApiError::make(refused ? 400 : 500, refused ? "invalid_request_error" : "server_error",
            too_long ? "prompt" : refused ? "messages" : nullptr, "%s", result.error().message());
        error.code = too_long ? "context_length_exceeded" : nullptr;
        if (!generation.stream_started())
            return respond_error(c, error);
        generation.send_error_event(error);
        generation.end_stream();
        return request_done(c, 200, error.message);
    }

    Usage usage = result.value();
    CompletionText& text = generation.completion();
    if (text.stop_matched())
        usage.hit_limit = false;
    if (text.full())
        usage.hit_limit = true;
    text.finish();
    m_metrics.count_completion(usage, false);
    kl::snprintf(detail, sizeof(detail), "%u+%u tokens, %.1f tok/s, first token %.1f ms%s", usage.prompt_tokens,
        usage.completion_tokens, usage.tok_per_s, usage.ttft_ms, request.stream ? ", streamed" : "");
    if (request.stream) {
        generation.send_ready(&usage);
        if (request.include_usage)
            generation.send_usage(usage);
        generation.end_stream();
        c.abort_now = generation.cancelled();  // the last events did not fit: the reader is too slow
        return request_done(c, 200, detail);
    }
    kl::TextBuffer json(chunk_json_bytes);
    kl::JsonWriter w(json);
    completion_body(w, info, text.text(), usage);
    if (!w.ok())
        return respond_error(c, ApiError::make(500, "server_error", nullptr, "the completion does not fit the answer"));
    respond(c, 200, json.view(), "", detail);
}

}
