// Fuzz target for the whole OpenAI-compatible server (tinyllama/serve) over the fake
// transport and backend of the host tests: what any number of clients send, in any order,
// with disconnects and time passing.
//
// fuzz_serve: byte 0 bit 0 sets an API key ("k"), bit 1 makes clients read 7 bytes at a
// time. Then records of [what, length] + data: what % 4 picks the client, what / 4 % 4 the
// action (send the data, send FIN, reset, let 6 s pass), and the main loop runs after
// each. Every client must only ever receive well-formed HTTP/1.1 responses (JSON bodies
// that parse, event streams of whole events); at the end, with every client gone, the
// server must hold no connection (ASan's leak check sees the rest).
#include <string>
#include <vector>

#include "kernel_lib/text/json.h"
#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"
#include "tests/host/tinyllama/serve_fakes.h"

namespace {

constexpr int clients = 4;

void check_responses(std::string bytes)
{
    std::vector<kl::JsonToken> tokens(4096);
    for (;;) {
        serve_fakes::Response r = serve_fakes::take_response(bytes);
        if (!r.complete)
            break;
        FUZZ_CHECK(r.status >= 200 && r.status <= 599, "status %d", r.status);
        if (r.headers["content-type"] == "application/json") {
            auto parsed = kl::parse_json(r.body.data(), r.body.size(), tokens.data(), 4096);
            FUZZ_CHECK(!parsed.is_error(), "a JSON body does not parse: %s", r.body.substr(0, 200).c_str());
        } else if (r.headers["content-type"] == "text/event-stream") {
            const auto events = serve_fakes::sse_events(r.body);
            FUZZ_CHECK(!events.empty() && events.back() == "[DONE]", "an event stream without [DONE]");
        }
    }
    // What is left is the start of a response still on its way (or nothing).
    FUZZ_CHECK(bytes.empty() || bytes.rfind("HTTP/1.1 ", 0) == 0 || std::string("HTTP/1.1 ").rfind(bytes, 0) == 0,
        "bytes that are not a response: %s", bytes.substr(0, 60).c_str());
}

}

int fuzz_serve(const u8* data, size_t size)
{
    const u8 flags = fuzz_support::byte_or_zero(data, size, 0);
    serve_fakes::FakeBackend backend;
    serve_fakes::FakePlatform platform;
    tllama::serve::ServerOptions options;
    options.api_key = (flags & 1) ? "k" : nullptr;
    options.max_connections = 3;
    options.queue_capacity = 2;
    options.max_body_bytes = 2048;
    options.max_head_bytes = 1024;
    options.max_output_bytes = 8192;
    tllama::serve::Server server(backend, platform, options);
    std::string received[clients];
    {
        serve_fakes::FakeNetwork net(server);
        const usize window = (flags & 2) ? 7 : 0;
        int ids[clients];
        for (int i = 0; i < clients; ++i)
            ids[i] = net.connect();
        platform.on_pump = [&]() { net.service(window); };
        size_t at = 1;
        while (at + 2 <= size) {
            const u8 what = data[at];
            const size_t length = data[at + 1] < size - at - 2 ? data[at + 1] : size - at - 2;
            const int id = ids[what % clients];
            at += 2;
            if (id >= 0 && net.open(id)) {
                switch (what / 4 % 4) {
                case 0: net.send(id, std::string(reinterpret_cast<const char*>(data + at), length)); break;
                case 1: net.finish_sending(id); break;
                case 2: net.reset(id); break;
                default: platform.now += 6000; break;
                }
            }
            at += length;
            net.service(window);
            while (server.step())
                net.service(window);
            net.service(window);
        }
        for (int i = 0; i < clients; ++i) {
            if (ids[i] >= 0) {
                received[i] = net.received(ids[i]);
                if (net.open(ids[i]))
                    net.reset(ids[i]);
            }
        }
        platform.on_pump = nullptr;
    }
    for (const auto& bytes : received)
        check_responses(bytes);
    server.step();
    FUZZ_CHECK(server.metrics().connections == 0, "%u connections left after every client went",
        server.metrics().connections);
    FUZZ_CHECK(server.queue_length() == 0, "%u requests left in the queue", server.queue_length());
    return 0;
}
