// Test doubles for the OpenAI-compatible server (tinyllama/serve): a backend that "generates"
// numbered words, a platform with a clock the test moves, and a transport that plays the
// clients (bytes in, bytes out, resets) the way lwIP would. Used by the host tests and the
// `serve` fuzz target.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tinyllama/serve/server.h"

namespace serve_fakes {

// Generates " w1 w2 w3 ..." (one word per token) up to max_tokens or 1000 words, asking
// should_stop() after each. A prompt that starts with "long" is too long for the context;
// "fail" fails; a prompt "end N" makes the model end after N words. Chat requests answer
// with the last message's content, word by word.
class FakeBackend final : public tllama::serve::Backend {
public:
    const char* model_name() const override { return "fake-model"; }
    u32 context_length() const override { return 200; }
    bool chat_supported() const override { return chat; }
    kl::ErrorOr<tllama::serve::Usage> complete(const tllama::serve::CompletionRequest& request,
        tllama::serve::TokenSink& sink) override;
    void write_metrics(kl::TextBuffer& out) const override;

    bool chat = false;
    u32 calls = 0;
    u32 tokens_generated = 0;             // by the last call
    std::vector<std::string> prompts;     // every prompt seen, in order
    std::vector<unsigned long long> seeds;
    std::vector<std::string> pieces;      // when set: these pieces instead of numbered words
};

class FakePlatform final : public tllama::serve::Platform {
public:
    u64 now_ms() override { return now; }
    u64 unix_time() override { return 1700000000; }
    void pump() override
    {
        ++pumps;
        if (on_pump)
            on_pump();
    }
    void log(const char* line) override { lines.push_back(line); }

    u64 now = 1000;
    u32 pumps = 0;
    std::function<void()> on_pump;
    std::vector<std::string> lines;
};

// The clients and the connection plumbing between them and the server.
class FakeNetwork {
public:
    explicit FakeNetwork(tllama::serve::Server& server) : m_server(server) {}
    ~FakeNetwork();

    // A new client; -1 when the server refused it.
    int connect(const char* peer = "10.0.2.2:40000");
    void send(int id, const std::string& bytes);
    void finish_sending(int id);   // the client sends FIN
    void reset(int id);            // the client's connection is reset
    // Moves bytes both ways as the stack would (bounded by `window` bytes per connection
    // per call, 0 = everything), honours close and abort requests.
    void service(usize window = 0);
    // What the client has received so far, and whether the server closed or reset it.
    std::string& received(int id) { return m_clients[id].received; }
    bool closed(int id) { return m_clients[id].closed; }
    bool was_reset(int id) { return m_clients[id].reset; }
    bool open(int id) { return m_clients.count(id) && !m_clients[id].closed && !m_clients[id].reset; }
    void set_reading(int id, bool reading) { m_clients[id].reading = reading; }

private:
    struct Client {
        std::string pending;   // sent by the client, not yet taken by the server
        std::string received;
        bool closed = false;
        bool reset = false;
        bool reading = true;
    };
    tllama::serve::Server& m_server;
    std::map<int, Client> m_clients;
};

// One HTTP response read back from a byte stream.
struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;                            // de-chunked
    bool complete = false;
};

// Parses the first response in `bytes` (skipping "100 Continue"), removing it from `bytes`
// when it is complete.
Response take_response(std::string& bytes);

// The events of an event stream body ("data: ..." payloads, in order).
std::vector<std::string> sse_events(const std::string& body);

std::string http_request(const std::string& method, const std::string& path, const std::string& body = "",
    const std::string& extra_headers = "");

}
