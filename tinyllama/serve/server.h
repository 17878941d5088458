// The OpenAI-compatible HTTP/1.1 server: connections, routing, the queue, one generation
// at a time.
//
// Routes: GET /health, GET /metrics (Prometheus text), GET /v1/models and /v1/models/<id>,
// POST /v1/completions and POST /v1/chat/completions (501 until the backend has chat
// templates). Errors are OpenAI-style JSON with the right status: 400 malformed HTTP, JSON or
// fields; 401 without the API key; 404; 405; 408 a request that does not arrive in time;
// 413 a body over the limit; 429 the queue is full; 431 a head over the limit; 501.
//
// The transport (lwIP in the kernel, a fake in the tests) drives it through StreamHandler.
// Requests are read and answered as bytes arrive, keep-alive and pipelined; completion
// requests wait in a bounded FIFO, and step() (the main loop) runs the oldest one. While
// it runs, the sink calls Platform::pump() between tokens, so the network keeps going:
// other requests are read, queued or answered (/health, /metrics, errors), and a client
// that disconnects or stops reading (its output over the cap) ends its own generation.
// Every buffer has a cap; everything a connection owns is freed when it ends.
#pragma once

#include "kernel_lib/net/http.h"
#include "kernel_lib/net/stream_handler.h"
#include "tinyllama/serve/backend.h"
#include "tinyllama/serve/completion_text.h"
#include "tinyllama/serve/metrics.h"
#include "tinyllama/serve/request.h"

namespace tllama::serve {

// What the server needs from the machine it runs on.
class Platform {
public:
    virtual u64 now_ms() = 0;
    virtual u64 unix_time() = 0;   // 0 when unknown
    // Moves network traffic (receive, send, timers): called between tokens.
    virtual void pump() = 0;
    // One line for the console ("serve: ... 200 ..."), without the newline.
    virtual void log(const char* line) = 0;

protected:
    ~Platform() = default;
};

struct ServerOptions {
    const char* api_key = nullptr;     // required as "Authorization: Bearer <key>" when set
    u32 max_connections = 16;
    u32 queue_capacity = 8;            // completion requests waiting (the running one apart)
    usize max_head_bytes = 8 * 1024;
    usize max_body_bytes = 64 * 1024;
    usize max_output_bytes = 1024 * 1024;  // per connection: a reader slower than this is dropped
    u64 request_timeout_ms = 10000;    // from a request's first byte to its last
    u64 idle_timeout_ms = 60000;       // an idle keep-alive connection, or output that stalls
};

class Server final : public kl::net::StreamHandler {
public:
    Server(Backend& backend, Platform& platform, const ServerOptions& options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // kl::net::StreamHandler
    int opened(const char* peer) override;
    bool received(int id, const u8* data, usize length) override;
    void peer_closed(int id) override;
    void aborted(int id) override;
    kl::StringView output(int id) override;
    void sent(int id, usize length) override;
    bool wants_close(int id) override;
    bool wants_abort(int id) override;
    void closed(int id) override;

    // One turn of the main loop: time limits, then the oldest queued completion, run to
    // its end (returns whether one ran).
    bool step();

    const Metrics& metrics() const { return m_metrics; }
    u32 queue_length() const { return m_queue_count; }

private:
    struct Connection;
    class Generation;

    Connection* connection(int id);
    void process(Connection& c);
    bool read_head(Connection& c);
    bool read_body(Connection& c);
    void dispatch(Connection& c);
    void route_completion(Connection& c, bool chat);
    void respond(Connection& c, int status, kl::StringView json, const char* extra_headers = "",
        const char* detail = "");
    void respond_error(Connection& c, const ApiError& error, const char* extra_headers = "");
    void respond_json(Connection& c, int status, void (*body)(kl::JsonWriter&, const Server&));
    void request_done(Connection& c, int status, const char* detail = "");
    void run(Connection& c);
    void end_connection(Connection& c);
    void check_timeouts(Connection& c, u64 now);
    bool authorized(const Connection& c) const;
    void log_request(const Connection& c, int status, const char* detail);
    void refresh_gauges();

    Backend& m_backend;
    Platform& m_platform;
    ServerOptions m_options;
    Connection* m_connections = nullptr;
    u32* m_queue = nullptr;  // connection ids, oldest first (a ring)
    u32 m_queue_head = 0;
    u32 m_queue_count = 0;
    u64 m_completion_serial = 0;
    u64 m_request_serial = 0;
    kl::JsonToken* m_tokens = nullptr;  // the JSON token array, shared (one parse at a time)
    Metrics m_metrics;
};

}
