// Test doubles for the server (see serve_fakes.h).
#include "tests/host/tinyllama/serve_fakes.h"

#include <string.h>

namespace serve_fakes {

kl::ErrorOr<tllama::serve::Usage> FakeBackend::complete(const tllama::serve::CompletionRequest& request,
    tllama::serve::TokenSink& sink)
{
    ++calls;
    tokens_generated = 0;
    seeds.push_back(request.seed_given ? request.seed : 0);
    std::string prompt = request.chat ? request.messages[request.message_count - 1].content : request.prompt;
    prompts.push_back(prompt);
    if (prompt.rfind("long", 0) == 0)
        return kl::Error::make(kl::ErrorCode::PromptTooLong, "the prompt is 300 tokens, but the context is 200 tokens");
    if (prompt == "fail")
        return kl::Error::make(kl::ErrorCode::InternalPanic, "the fake backend failed");
    u32 end_after = 1000;
    if (prompt.rfind("end ", 0) == 0)
        end_after = static_cast<u32>(atoi(prompt.c_str() + 4));
    tllama::serve::Usage usage;
    usage.prompt_tokens = 1 + static_cast<u32>(prompt.size() / 4);
    usage.ttft_ms = 5;
    usage.tok_per_s = 100;
    const u32 limit = std::min(request.max_tokens, end_after);
    for (u32 i = 0; i < limit; ++i) {
        std::string piece = pieces.empty() ? " w" + std::to_string(i + 1) : pieces[i % pieces.size()];
        sink.text(piece.data(), piece.size());
        ++tokens_generated;
        if (sink.should_stop())
            break;
    }
    usage.completion_tokens = tokens_generated;
    usage.hit_limit = tokens_generated == request.max_tokens;
    return usage;
}

void FakeBackend::write_metrics(kl::TextBuffer& out) const
{
    out.append("# TYPE bareflow_fake_backend gauge\nbareflow_fake_backend 1\n");
}

FakeNetwork::~FakeNetwork()
{
    for (auto& [id, client] : m_clients) {
        if (!client.closed && !client.reset)
            m_server.aborted(id);
    }
}

int FakeNetwork::connect(const char* peer)
{
    const int id = m_server.opened(peer);
    if (id >= 0)
        m_clients[id] = Client {};
    return id;
}

void FakeNetwork::send(int id, const std::string& bytes)
{
    m_clients[id].pending += bytes;
    service();
}

void FakeNetwork::finish_sending(int id)
{
    service();
    m_server.peer_closed(id);
    service();
}

void FakeNetwork::reset(int id)
{
    m_clients[id].reset = true;
    m_server.aborted(id);
}

void FakeNetwork::service(usize window)
{
    for (auto& [id, client] : m_clients) {
        if (client.closed || client.reset)
            continue;
        if (!client.pending.empty() && m_server.received(id, reinterpret_cast<const u8*>(client.pending.data()),
                                            client.pending.size()))
            client.pending.clear();
        if (client.reading) {
            const kl::StringView out = m_server.output(id);
            const usize n = window && window < out.length ? window : out.length;
            client.received.append(out.data, n);
            if (n)
                m_server.sent(id, n);
        }
        if (m_server.wants_abort(id)) {
            client.reset = true;
            m_server.closed(id);
        } else if (m_server.wants_close(id)) {
            client.closed = true;
            m_server.closed(id);
        }
    }
}

namespace {

std::string lower(std::string s)
{
    for (char& c : s)
        c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    return s;
}

// De-chunks `bytes` from `at`; returns the end offset, or npos when incomplete.
size_t dechunk(const std::string& bytes, size_t at, std::string& body)
{
    for (;;) {
        const size_t line_end = bytes.find("\r\n", at);
        if (line_end == std::string::npos)
            return std::string::npos;
        const size_t size = std::stoul(bytes.substr(at, line_end - at), nullptr, 16);
        if (size == 0)
            return bytes.size() >= line_end + 4 ? line_end + 4 : std::string::npos;
        if (bytes.size() < line_end + 2 + size + 2)
            return std::string::npos;
        body += bytes.substr(line_end + 2, size);
        at = line_end + 2 + size + 2;
    }
}

}

Response take_response(std::string& bytes)
{
    Response r;
    while (bytes.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0)
        bytes.erase(0, 25);
    const size_t head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string::npos || bytes.rfind("HTTP/1.1 ", 0) != 0)
        return r;
    r.status = atoi(bytes.c_str() + 9);
    size_t line = bytes.find("\r\n") + 2;
    while (line < head_end) {
        const size_t next = bytes.find("\r\n", line);
        const size_t colon = bytes.find(':', line);
        r.headers[lower(bytes.substr(line, colon - line))] = bytes.substr(colon + 2, next - colon - 2);
        line = next + 2;
    }
    size_t end;
    if (r.headers["transfer-encoding"] == "chunked") {
        end = dechunk(bytes, head_end + 4, r.body);
        if (end == std::string::npos)
            return r;
    } else {
        const size_t length = std::stoul(r.headers["content-length"]);
        if (bytes.size() < head_end + 4 + length)
            return r;
        r.body = bytes.substr(head_end + 4, length);
        end = head_end + 4 + length;
    }
    r.complete = true;
    bytes.erase(0, end);
    return r;
}

std::vector<std::string> sse_events(const std::string& body)
{
    std::vector<std::string> events;
    size_t at = 0;
    while (at < body.size()) {
        const size_t end = body.find("\n\n", at);
        if (end == std::string::npos || body.compare(at, 6, "data: ") != 0)
            break;
        events.push_back(body.substr(at + 6, end - at - 6));
        at = end + 2;
    }
    return events;
}

std::string http_request(const std::string& method, const std::string& path, const std::string& body,
    const std::string& extra_headers)
{
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" + extra_headers;
    if (!body.empty() || method == "POST")
        r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

}
