// The HTTP side of the server: connections, reading requests, routing, the queue (see
// server.h; running a completion is generation.cpp).
#include "tinyllama/serve/server.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_lib/libc/format.h"
#include "tinyllama/serve/connection.h"
#include "tinyllama/serve/responses.h"

namespace tllama::serve {

namespace {

constexpr u32 json_token_capacity = 2048;
constexpr usize input_slack_bytes = 16 * 1024;  // chunk framing on top of the body limit
constexpr usize scratch_bytes = 2 * 1024 * 1024;

// The ASCII text of a view, cut to fit `out`.
void copy_view(char* out, usize size, kl::StringView v)
{
    const usize n = v.length < size - 1 ? v.length : size - 1;
    memcpy(out, v.data, n);
    out[n] = 0;
}

// Compares the whole secret whatever the input, so the answer's timing does not tell how
// much of a guessed key was right.
bool same_secret(kl::StringView given, const char* secret)
{
    const usize length = strlen(secret);
    u8 difference = given.length == length ? 0 : 1;
    for (usize i = 0; i < length; ++i)
        difference |= static_cast<u8>(secret[i] ^ (i < given.length ? given[i] : 0));
    return difference == 0;
}

}

Server::Server(Backend& backend, Platform& platform, const ServerOptions& options)
    : m_backend(backend), m_platform(platform), m_options(options)
{
    VERIFY(options.max_connections > 0 && options.queue_capacity > 0);
    m_connections = new Connection[options.max_connections];
    m_queue = new u32[options.queue_capacity];
    m_tokens = new kl::JsonToken[json_token_capacity];
}

Server::~Server()
{
    delete[] m_connections;
    delete[] m_queue;
    delete[] m_tokens;
}

Server::Connection* Server::connection(int id)
{
    if (id < 0 || static_cast<u32>(id) >= m_options.max_connections || m_connections[id].phase == Phase::Free)
        return nullptr;
    return &m_connections[id];
}

int Server::opened(const char* peer)
{
    for (u32 i = 0; i < m_options.max_connections; ++i) {
        Connection& c = m_connections[i];
        if (c.phase != Phase::Free)
            continue;
        c.id = static_cast<int>(i);
        c.phase = Phase::Reading;
        copy_view(c.peer, sizeof(c.peer), peer);
        c.in.set_max_bytes(m_options.max_head_bytes + m_options.max_body_bytes + input_slack_bytes);
        c.out.set_max_bytes(m_options.max_output_bytes);
        c.have_head = c.peer_done = c.gone = c.abort_now = c.close_after = c.continue_sent = false;
        c.last_progress_ms = m_platform.now_ms();
        refresh_gauges();
        return c.id;
    }
    m_platform.log("serve: too many connections; refusing one");
    return -1;
}

bool Server::received(int id, const u8* data, usize length)
{
    Connection* c = connection(id);
    if (!c || c->phase == Phase::Closing)
        return true;  // dropped: nothing more is read from a connection that is closing
    const bool was_empty = c->in.empty();
    if (!c->in.append(reinterpret_cast<const char*>(data), length))
        return false;
    c->last_progress_ms = m_platform.now_ms();
    if (was_empty && c->phase == Phase::Reading)
        c->request_started_ms = c->last_progress_ms;
    if (c->phase == Phase::Reading)
        process(*c);
    return true;
}

void Server::peer_closed(int id)
{
    Connection* c = connection(id);
    if (!c)
        return;
    c->peer_done = true;
    c->keep_alive = false;
    // A client that leaves while its completion waits has given it up.
    if (c->phase == Phase::Queued) {
        m_platform.log("serve: a queued request's client left; dropping it");
        ++m_metrics.cancelled;
        c->parsed.release();
        c->phase = Phase::Closing;
    } else if (c->phase == Phase::Reading && c->in.empty()) {
        c->phase = Phase::Closing;
    }
}

void Server::aborted(int id)
{
    Connection* c = connection(id);
    if (!c)
        return;
    if (c->phase == Phase::Generating) {
        c->gone = true;  // run() ends it when the generation stops
        return;
    }
    if (c->phase == Phase::Queued)
        ++m_metrics.cancelled;
    end_connection(*c);
}

void Server::closed(int id)
{
    if (Connection* c = connection(id)) {
        if (c->phase == Phase::Generating)
            c->gone = true;
        else
            end_connection(*c);
    }
}

kl::StringView Server::output(int id)
{
    Connection* c = connection(id);
    return c ? c->out.view() : kl::StringView();
}

void Server::sent(int id, usize length)
{
    Connection* c = connection(id);
    if (!c)
        return;
    c->out.consume(length);
    c->last_progress_ms = m_platform.now_ms();
    if (c->out.empty() && c->phase != Phase::Generating)
        c->out.release();
}

bool Server::wants_close(int id)
{
    Connection* c = connection(id);
    return c && c->phase == Phase::Closing && c->out.empty();
}

bool Server::wants_abort(int id)
{
    Connection* c = connection(id);
    return c && c->abort_now && c->phase != Phase::Generating;
}

void Server::end_connection(Connection& c)
{
    // Out of the queue first, so that a later connection in this slot does not inherit
    // the place.
    for (u32 i = 0; i < m_queue_count; ++i) {
        if (m_queue[(m_queue_head + i) % m_options.queue_capacity] != static_cast<u32>(c.id))
            continue;
        for (u32 k = i; k + 1 < m_queue_count; ++k)
            m_queue[(m_queue_head + k) % m_options.queue_capacity] =
                m_queue[(m_queue_head + k + 1) % m_options.queue_capacity];
        --m_queue_count;
        break;
    }
    c.in.release();
    c.out.release();
    c.parsed.release();
    c.phase = Phase::Free;
    refresh_gauges();
}

void Server::refresh_gauges()
{
    u32 open = 0;
    for (u32 i = 0; i < m_options.max_connections; ++i)
        open += m_connections[i].phase != Phase::Free;
    m_metrics.connections = open;
    m_metrics.queue_length = m_queue_count;
}

void Server::process(Connection& c)
{
    while (c.phase == Phase::Reading && !c.in.empty()) {
        if (!read_head(c) || !read_body(c))
            return;
        dispatch(c);
    }
}

bool Server::read_head(Connection& c)
{
    const auto parsed = kl::http::parse_request(c.in.data(), c.in.size(), m_options.max_head_bytes, c.head);
    if (parsed.status == kl::http::ParseStatus::NeedMore)
        return false;
    if (parsed.status != kl::http::ParseStatus::Done) {
        c.close_after = true;
        strcpy(c.method, "?");
        strcpy(c.path, "?");
        if (parsed.status == kl::http::ParseStatus::Bad)
            respond_error(c, ApiError::make(400, "invalid_request_error", nullptr, "malformed HTTP request: %s", parsed.why));
        else
            respond_error(c, ApiError::make(431, "invalid_request_error", nullptr,
                "the request head is over %zu bytes or %u header lines", m_options.max_head_bytes, kl::http::max_headers));
        return false;
    }
    if (c.have_head)
        return true;
    c.have_head = true;
    c.serial = ++m_request_serial;
    copy_view(c.method, sizeof(c.method), c.head.method);
    copy_view(c.path, sizeof(c.path), c.head.path());
    c.keep_alive = !c.peer_done && kl::http::wants_keep_alive(c.head);
    const auto framing = kl::http::body_framing(c.head);
    c.framing = framing.framing;
    const bool has_body = c.framing.kind == kl::http::BodyFraming::Kind::Chunked || c.framing.length > 0;
    if (!framing.ok) {
        c.close_after = true;
        respond_error(c, ApiError::make(framing.status, "invalid_request_error", nullptr, "%s", framing.why));
        return false;
    }
    if (!authorized(c)) {
        // The body is not read: the connection closes after the answer.
        c.close_after = has_body;
        ApiError error = ApiError::make(401, "invalid_request_error", nullptr,
            "a valid API key is needed: send the header 'Authorization: Bearer <key>' (the key is the boot "
            "setting api_key)");
        error.code = "invalid_api_key";
        respond_error(c, error, "WWW-Authenticate: Bearer\r\n");
        return false;
    }
    if (c.framing.kind == kl::http::BodyFraming::Kind::Length && c.framing.length > m_options.max_body_bytes) {
        c.close_after = true;
        respond_error(c, ApiError::make(413, "invalid_request_error", nullptr,
            "the request body is %llu bytes; at most %zu are accepted", static_cast<unsigned long long>(c.framing.length),
            m_options.max_body_bytes));
        return false;
    }
    c.chunked = kl::http::ChunkedDecoder(m_options.max_body_bytes);
    return true;
}

bool Server::read_body(Connection& c)
{
    const usize start = c.head.head_length;
    const usize available = c.in.size() - start;
    bool complete = true;
    switch (c.framing.kind) {
    case kl::http::BodyFraming::Kind::None:
        c.body_length = 0;
        c.request_bytes = start;
        break;
    case kl::http::BodyFraming::Kind::Length:
        complete = available >= c.framing.length;
        c.body_length = static_cast<usize>(c.framing.length);
        c.request_bytes = start + c.body_length;
        break;
    case kl::http::BodyFraming::Kind::Chunked: {
        const auto status = c.chunked.feed(c.in.data() + start, available);
        if (status == kl::http::ChunkedDecoder::Status::Bad || status == kl::http::ChunkedDecoder::Status::TooLarge) {
            c.close_after = true;
            const bool bad = status == kl::http::ChunkedDecoder::Status::Bad;
            respond_error(c, bad ? ApiError::make(400, "invalid_request_error", nullptr, "malformed chunked body: %s",
                                       c.chunked.why())
                                 : ApiError::make(413, "invalid_request_error", nullptr,
                                       "the request body is over %zu bytes", m_options.max_body_bytes));
            return false;
        }
        complete = status == kl::http::ChunkedDecoder::Status::Done;
        c.body_length = c.chunked.body_length();
        c.request_bytes = start + c.chunked.consumed();
        break;
    }
    }
    if (complete)
        return true;
    // curl and others wait for "100 Continue" before sending a large body.
    const kl::StringView* expect = c.head.header("expect");
    if (expect && expect->equals_ignoring_case("100-continue") && !c.continue_sent) {
        c.continue_sent = true;
        c.out.append("HTTP/1.1 100 Continue\r\n\r\n");
    }
    return false;
}

bool Server::authorized(const Connection& c) const
{
    if (!m_options.api_key || !m_options.api_key[0])
        return true;
    const kl::StringView* header = c.head.header("authorization");
    if (!header || header->length < 7 || !header->substring(0, 7).equals_ignoring_case("Bearer "))
        return false;
    return same_secret(header->substring(7, header->length - 7).trimmed(), m_options.api_key);
}

void Server::dispatch(Connection& c)
{
    const kl::StringView method = c.head.method;
    const kl::StringView path = c.head.path();
    const bool get = method.equals("GET"), post = method.equals("POST");
    const char* allow = nullptr;
    if (path.equals("/health")) {
        allow = "GET";
        if (get)
            return respond_json(c, 200, [](kl::JsonWriter& w, const Server& s) {
                w.begin_object();
                w.field("status", "ok");
                w.field("model", s.m_backend.model_name());
                w.field("queue", static_cast<i64>(s.m_queue_count));
                w.end_object();
            });
    } else if (path.equals("/metrics")) {
        allow = "GET";
        if (get) {
            kl::TextBuffer text(scratch_bytes);
            if (!m_metrics.render(text, m_backend))
                return respond_error(c, ApiError::make(500, "server_error", nullptr, "the metrics do not fit"));
            c.out.appendf("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
                          "Connection: %s\r\n\r\n",
                text.size(), c.keep_alive ? "keep-alive" : "close");
            c.out.append(text.view());
            return request_done(c, 200);
        }
    } else if (path.equals("/v1/models") || path.starts_with("/v1/models/")) {
        allow = "GET";
        if (get && path.equals("/v1/models"))
            return respond_json(c, 200, [](kl::JsonWriter& w, const Server& s) {
                models_body(w, s.m_backend.model_name(), s.m_backend.context_length(), false);
            });
        if (get && path.substring(11, path.length).equals(m_backend.model_name()))
            return respond_json(c, 200, [](kl::JsonWriter& w, const Server& s) {
                models_body(w, s.m_backend.model_name(), s.m_backend.context_length(), true);
            });
        if (get)
            return respond_error(c, ApiError::make(404, "invalid_request_error", "model",
                "the model '%s' does not exist here; GET /v1/models lists the one there is", c.path + 11));
    } else if (path.equals("/v1/completions") || path.equals("/v1/chat/completions")) {
        allow = "POST";
        if (post)
            return route_completion(c, path.equals("/v1/chat/completions"));
    }
    if (allow) {
        char header[32];
        kl::snprintf(header, sizeof(header), "Allow: %s\r\n", allow);
        return respond_error(c, ApiError::make(405, "invalid_request_error", nullptr, "%s %s: use %s", c.method, c.path,
            allow), header);
    }
    respond_error(c, ApiError::make(404, "invalid_request_error", nullptr,
        "no route %s %s (routes: /v1/completions, /v1/chat/completions, /v1/models, /health, /metrics)", c.method, c.path));
}

void Server::route_completion(Connection& c, bool chat)
{
    ApiError error;
    const char* body = c.in.data() + c.head.head_length;
    if (!c.parsed.parse(body, c.body_length, chat, m_backend.context_length(), m_tokens, json_token_capacity, error))
        return respond_error(c, error);
    if (chat && !m_backend.chat_supported()) {
        c.parsed.release();
        ApiError e = ApiError::make(501, "not_implemented", nullptr,
            "chat completions need a chat template BareFlow renders (Zephyr/TinyLlama, ChatML, Llama-2) in the "
            "model, and this one has none; POST /v1/completions with a prompt works");
        e.code = "chat_not_supported";
        return respond_error(c, e);
    }
    if (m_queue_count == m_options.queue_capacity) {
        c.parsed.release();
        ++m_metrics.rejected;
        return respond_error(c, ApiError::make(429, "rate_limit_error", nullptr,
            "%u requests are already waiting for the engine; retry shortly", m_queue_count), "Retry-After: 1\r\n");
    }
    m_queue[(m_queue_head + m_queue_count++) % m_options.queue_capacity] = static_cast<u32>(c.id);
    c.phase = Phase::Queued;
    c.queued_ms = m_platform.now_ms();
    refresh_gauges();
}

void Server::respond(Connection& c, int status, kl::StringView json, const char* extra_headers, const char* detail)
{
    if (!write_json_response(c.out, status, json, c.keep_alive && !c.close_after, extra_headers))
        c.abort_now = true;  // over the output cap: nothing sensible can be sent
    request_done(c, status, detail);
}

void Server::respond_json(Connection& c, int status, void (*body)(kl::JsonWriter&, const Server&))
{
    kl::TextBuffer json(scratch_bytes);
    kl::JsonWriter w(json);
    body(w, *this);
    if (!w.ok())
        return respond_error(c, ApiError::make(500, "server_error", nullptr, "the answer does not fit"));
    respond(c, status, json.view());
}

void Server::respond_error(Connection& c, const ApiError& error, const char* extra_headers)
{
    kl::TextBuffer json(4096);
    kl::JsonWriter w(json);
    error_body(w, error);
    respond(c, error.status, json.view(), extra_headers, error.message);
}

// The request has its answer in `out`: count it, drop its bytes, and read the next one
// (keep-alive) or close.
void Server::request_done(Connection& c, int status, const char* detail)
{
    m_metrics.count_response(status);
    log_request(c, status, detail);
    if (c.close_after || !c.keep_alive) {
        c.phase = Phase::Closing;
        c.in.release();
    } else {
        c.phase = Phase::Reading;
        c.in.consume(c.request_bytes);
        c.request_started_ms = m_platform.now_ms();
    }
    c.parsed.release();
    c.have_head = c.continue_sent = false;
    c.request_bytes = 0;
}

void Server::log_request(const Connection& c, int status, const char* detail)
{
    char line[400];
    kl::snprintf(line, sizeof(line), "serve: #%llu %s %s %s %d%s%s", static_cast<unsigned long long>(c.serial), c.peer,
        c.method, c.path, status, detail[0] ? " " : "", detail);
    m_platform.log(line);
}

void Server::check_timeouts(Connection& c, u64 now)
{
    if (c.phase == Phase::Free || c.phase == Phase::Generating)
        return;
    const bool stalled = now - c.last_progress_ms > m_options.idle_timeout_ms;
    if (c.phase == Phase::Reading && !c.in.empty() && now - c.request_started_ms > m_options.request_timeout_ms) {
        c.close_after = true;
        if (!c.have_head) {
            strcpy(c.method, "?");
            strcpy(c.path, "?");
        }
        respond_error(c, ApiError::make(408, "invalid_request_error", nullptr,
            "the request did not arrive within %llu ms", static_cast<unsigned long long>(m_options.request_timeout_ms)));
    } else if (c.phase == Phase::Reading && c.in.empty() && c.out.empty() && stalled) {
        c.phase = Phase::Closing;  // an idle keep-alive connection
    } else if (!c.out.empty() && stalled) {
        c.abort_now = true;  // the client stopped reading
    }
}

bool Server::step()
{
    const u64 now = m_platform.now_ms();
    for (u32 i = 0; i < m_options.max_connections; ++i)
        check_timeouts(m_connections[i], now);
    refresh_gauges();
    if (m_queue_count == 0)
        return false;
    const u32 id = m_queue[m_queue_head];
    m_queue_head = (m_queue_head + 1) % m_options.queue_capacity;
    --m_queue_count;
    refresh_gauges();
    Connection& c = m_connections[id];
    run(c);
    // A request pipelined behind the completion waited in `in`: read it now.
    if (c.phase == Phase::Reading)
        process(c);
    return true;
}

}
