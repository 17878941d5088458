// The OpenAI-compatible server (tinyllama/serve/server.h) end to end over the fake transport
// and backend: routes, completions plain and streamed, stop sequences, errors and their
// codes, the API key, the queue, disconnects, slow readers and time limits.
#include <catch2/catch.hpp>

#include <stdio.h>

#include <string>
#include <vector>

#include "kernel_lib/text/json.h"
#include "tests/host/tinyllama/serve_fakes.h"

using serve_fakes::http_request;
using serve_fakes::Response;
using serve_fakes::take_response;

namespace {

// A parsed JSON text that keeps its own tokens.
struct Json {
    explicit Json(const std::string& text) : text(text), tokens(4096)
    {
        auto r = kl::parse_json(this->text.data(), this->text.size(), tokens.data(), 4096);
        ok = !r.is_error();
        if (ok)
            document = r.release_value();
    }
    kl::JsonValue root() const { return kl::JsonValue::root(document); }
    std::string text;
    std::vector<kl::JsonToken> tokens;
    kl::JsonDocument document;
    bool ok = false;
};

std::string str(kl::JsonValue v)
{
    if (!v.is(kl::JsonType::String))
        return "<not a string>";
    std::string s(v.unescaped_length() + 1, '\0');
    v.get_string(s.data(), s.size());
    s.pop_back();
    return s;
}

i64 integer(kl::JsonValue v)
{
    i64 n = -1;
    return v.get_integer(n, INT64_MIN, INT64_MAX) ? n : -999;
}

struct Fixture {
    explicit Fixture(tllama::serve::ServerOptions options = {}) : server(backend, platform, options), net(server) {}

    // Sends one request on a new connection and returns the response.
    Response ask(const std::string& request, int* id_out = nullptr)
    {
        const int id = net.connect();
        REQUIRE(id >= 0);
        if (id_out)
            *id_out = id;
        net.send(id, request);
        run();
        Response r = take_response(net.received(id));
        if (net.open(id))
            net.reset(id);  // done with it, as a client with one question is
        return r;
    }
    // The main loop until the queue is empty.
    void run()
    {
        net.service();
        while (server.step())
            net.service();
        net.service();
    }

    serve_fakes::FakeBackend backend;
    serve_fakes::FakePlatform platform;
    tllama::serve::Server server;
    serve_fakes::FakeNetwork net;
};

std::string completion(const std::string& fields) { return http_request("POST", "/v1/completions", "{" + fields + "}"); }

std::string hex(usize n)
{
    char text[32];
    snprintf(text, sizeof(text), "%zx", n);
    return text;
}

std::string error_message(const Response& r)
{
    Json j(r.body);
    REQUIRE(j.ok);
    return str(j.root().member("error").member("message"));
}

}

TEST_CASE("serve: /health, /v1/models and /metrics", "[serve]")
{
    Fixture f;
    Response health = f.ask(http_request("GET", "/health"));
    CHECK(health.status == 200);
    CHECK(health.headers["content-type"] == "application/json");
    CHECK(str(Json(health.body).root().member("status")) == "ok");

    Response models = f.ask(http_request("GET", "/v1/models"));
    REQUIRE(models.status == 200);
    Json list(models.body);
    REQUIRE(list.ok);
    CHECK(str(list.root().member("object")) == "list");
    CHECK(str(list.root().member("data").element(0).member("id")) == "fake-model");
    CHECK(integer(list.root().member("data").element(0).member("context_length")) == 200);
    CHECK(f.ask(http_request("GET", "/v1/models/fake-model")).status == 200);
    Response other = f.ask(http_request("GET", "/v1/models/gpt-4"));
    CHECK(other.status == 404);
    CHECK(error_message(other).find("gpt-4") != std::string::npos);

    f.ask(completion("\"prompt\": \"hi\", \"max_tokens\": 3"));
    Response metrics = f.ask(http_request("GET", "/metrics"));
    REQUIRE(metrics.status == 200);
    CHECK(metrics.headers["content-type"] == "text/plain; version=0.0.4");
    CHECK(metrics.body.find("bareflow_requests_total{code=\"200\"} 4") != std::string::npos);
    CHECK(metrics.body.find("bareflow_requests_total{code=\"404\"} 1") != std::string::npos);
    CHECK(metrics.body.find("bareflow_completion_tokens_total 3") != std::string::npos);
    CHECK(metrics.body.find("bareflow_completions_total 1") != std::string::npos);
    CHECK(metrics.body.find("bareflow_tokens_per_second 100.000") != std::string::npos);
    CHECK(metrics.body.find("bareflow_fake_backend 1") != std::string::npos);
}

TEST_CASE("serve: a completion, its usage and finish reason", "[serve]")
{
    Fixture f;
    Response r = f.ask(completion("\"model\": \"x\", \"prompt\": \"Once upon a time\", \"max_tokens\": 4, "
                                  "\"temperature\": 0, \"seed\": 42, \"top_p\": 0.5, \"user\": \"ignored\""));
    REQUIRE(r.status == 200);
    Json j(r.body);
    REQUIRE(j.ok);
    CHECK(str(j.root().member("object")) == "text_completion");
    CHECK(str(j.root().member("model")) == "fake-model");
    CHECK(str(j.root().member("id")) == "cmpl-1");
    CHECK(integer(j.root().member("created")) == 1700000000);
    auto choice = j.root().member("choices").element(0);
    CHECK(str(choice.member("text")) == " w1 w2 w3 w4");
    CHECK(str(choice.member("finish_reason")) == "length");
    CHECK(integer(j.root().member("usage").member("completion_tokens")) == 4);
    CHECK(integer(j.root().member("usage").member("prompt_tokens")) == 5);
    CHECK(integer(j.root().member("usage").member("total_tokens")) == 9);
    CHECK(f.backend.prompts.back() == "Once upon a time");
    CHECK(f.backend.seeds.back() == 42);

    Response ended = f.ask(completion("\"prompt\": \"end 2\", \"max_tokens\": 10"));
    CHECK(str(Json(ended.body).root().member("choices").element(0).member("finish_reason")) == "stop");
    Response single = f.ask(completion("\"prompt\": [\"in an array\"]"));
    CHECK(single.status == 200);
    CHECK(f.backend.prompts.back() == "in an array");
    CHECK(f.backend.tokens_generated == 16);  // the default max_tokens
}

TEST_CASE("serve: a streamed completion concatenates to the same text", "[serve]")
{
    Fixture f;
    Response plain = f.ask(completion("\"prompt\": \"p\", \"max_tokens\": 7"));
    Response streamed = f.ask(completion("\"prompt\": \"p\", \"max_tokens\": 7, \"stream\": true, "
                                         "\"stream_options\": {\"include_usage\": true}"));
    REQUIRE(streamed.status == 200);
    CHECK(streamed.headers["content-type"] == "text/event-stream");
    CHECK(streamed.headers["transfer-encoding"] == "chunked");
    auto events = serve_fakes::sse_events(streamed.body);
    REQUIRE(events.size() >= 4);
    CHECK(events.back() == "[DONE]");
    std::string text;
    std::string finish;
    for (usize i = 0; i + 2 < events.size(); ++i) {
        Json chunk(events[i]);
        REQUIRE(chunk.ok);
        CHECK(str(chunk.root().member("id")) == "cmpl-2");
        text += str(chunk.root().member("choices").element(0).member("text"));
        auto reason = chunk.root().member("choices").element(0).member("finish_reason");
        if (reason.is(kl::JsonType::String))
            finish = str(reason);
    }
    CHECK(text == str(Json(plain.body).root().member("choices").element(0).member("text")));
    CHECK(finish == "length");
    Json usage(events[events.size() - 2]);
    CHECK(usage.root().member("choices").count() == 0);
    CHECK(integer(usage.root().member("usage").member("completion_tokens")) == 7);
    CHECK(events.size() == 7 + 3);  // one event per token, the finish, the usage, [DONE]
}

TEST_CASE("serve: stop sequences end the text before them, streamed or not", "[serve]")
{
    Fixture f;
    f.backend.pieces = { " The", " e", "nd", " of", " it" };
    const std::string fields = "\"prompt\": \"p\", \"max_tokens\": 50, \"stop\": [\"The end\", \"zzz\"]";
    Response plain = f.ask(completion(fields));
    REQUIRE(plain.status == 200);
    Json answer(plain.body);
    auto choice = answer.root().member("choices").element(0);
    CHECK(str(choice.member("text")) == " ");
    CHECK(str(choice.member("finish_reason")) == "stop");
    CHECK(f.backend.tokens_generated == 3);

    Response streamed = f.ask(completion(fields + ", \"stream\": true"));
    std::string text;
    for (const auto& e : serve_fakes::sse_events(streamed.body)) {
        if (e != "[DONE]")
            text += str(Json(e).root().member("choices").element(0).member("text"));
    }
    CHECK(text == " ");

    f.backend.pieces = { "a", "b\n", "c" };
    Response newline = f.ask(completion("\"prompt\": \"p\", \"max_tokens\": 9, \"stop\": \"\\n\""));
    CHECK(str(Json(newline.body).root().member("choices").element(0).member("text")) == "ab");
}

TEST_CASE("serve: streamed text never splits a UTF-8 character", "[serve]")
{
    Fixture f;
    f.backend.pieces = { "caf", "\xc3", "\xa9", " \xe2\x82", "\xac" };
    Response streamed = f.ask(completion("\"prompt\": \"p\", \"max_tokens\": 5, \"stream\": true"));
    std::string text;
    for (const auto& e : serve_fakes::sse_events(streamed.body)) {
        if (e == "[DONE]")
            continue;
        Json chunk(e);
        REQUIRE(chunk.ok);
        const std::string piece = str(chunk.root().member("choices").element(0).member("text"));
        CHECK(piece.find("\xef\xbf\xbd") == std::string::npos);
        text += piece;
    }
    CHECK(text == "caf\xc3\xa9 \xe2\x82\xac");
}

TEST_CASE("serve: request errors have OpenAI-style bodies and the right status", "[serve]")
{
    Fixture f;
    struct Bad {
        std::string request;
        int status;
        const char* param;
    };
    const std::vector<Bad> cases = {
        { http_request("POST", "/v1/completions", "{\"prompt\": \"x\",}"), 400, nullptr },
        { http_request("POST", "/v1/completions", "[1, 2]"), 400, nullptr },
        { http_request("POST", "/v1/completions", ""), 400, nullptr },
        { completion("\"prompt\": 5"), 400, "prompt" },
        { completion("\"max_tokens\": 3"), 400, "prompt" },
        { completion("\"prompt\": [\"a\", \"b\"]"), 400, "prompt" },
        { completion("\"prompt\": \"a\\u0000b\""), 400, "prompt" },
        { completion("\"prompt\": \"x\", \"max_tokens\": \"16\""), 400, "max_tokens" },
        { completion("\"prompt\": \"x\", \"max_tokens\": 0"), 400, "max_tokens" },
        { completion("\"prompt\": \"x\", \"max_tokens\": 201"), 400, "max_tokens" },
        { completion("\"prompt\": \"x\", \"max_tokens\": 1.5"), 400, "max_tokens" },
        { completion("\"prompt\": \"x\", \"temperature\": 2.5"), 400, "temperature" },
        { completion("\"prompt\": \"x\", \"temperature\": true"), 400, "temperature" },
        { completion("\"prompt\": \"x\", \"top_p\": -0.1"), 400, "top_p" },
        { completion("\"prompt\": \"x\", \"seed\": -1"), 400, "seed" },
        { completion("\"prompt\": \"x\", \"stream\": 1"), 400, "stream" },
        { completion("\"prompt\": \"x\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]"), 400, "stop" },
        { completion("\"prompt\": \"x\", \"stop\": \"\""), 400, "stop" },
        { completion("\"prompt\": \"x\", \"stop\": 3"), 400, "stop" },
        { completion("\"prompt\": \"x\", \"n\": 2"), 400, "n" },
        { completion("\"prompt\": \"x\", \"echo\": true"), 400, "echo" },
        { completion("\"prompt\": \"x\", \"model\": 7"), 400, "model" },
        { completion("\"prompt\": \"long prompt\""), 400, "prompt" },
        { completion("\"prompt\": \"fail\""), 500, nullptr },
        { http_request("GET", "/v1/nothing"), 404, nullptr },
        { http_request("GET", "/v1/completions"), 405, nullptr },
        { http_request("DELETE", "/health"), 405, nullptr },
        { http_request("POST", "/v1/completions", "", "Transfer-Encoding: gzip\r\n"), 501, nullptr },
    };
    for (const auto& c : cases) {
        INFO(c.request);
        Response r = f.ask(c.request);
        CHECK(r.status == c.status);
        Json j(r.body);
        REQUIRE(j.ok);
        auto error = j.root().member("error");
        CHECK(error.member("message").is(kl::JsonType::String));
        CHECK(error.member("type").is(kl::JsonType::String));
        if (c.param)
            CHECK(str(error.member("param")) == c.param);
        else
            CHECK(error.member("param").is(kl::JsonType::Null));
    }
    Response too_long = f.ask(completion("\"prompt\": \"long prompt\""));
    CHECK(str(Json(too_long.body).root().member("error").member("code")) == "context_length_exceeded");
    Response wrong_method = f.ask(http_request("GET", "/v1/completions"));
    CHECK(wrong_method.headers["allow"] == "POST");
}

TEST_CASE("serve: malformed HTTP, oversized heads and bodies close the connection", "[serve]")
{
    Fixture f;
    int id = -1;
    Response bad = f.ask("GET /x HTTP/9.9\r\n\r\n", &id);
    CHECK(bad.status == 400);
    CHECK(bad.headers["connection"] == "close");
    CHECK(f.net.closed(id));

    Response head = f.ask("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", &id);
    CHECK(head.status == 431);
    CHECK(f.net.closed(id));

    // A body over the limit is refused from its Content-Length, before it is sent.
    Response big = f.ask("POST /v1/completions HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n", &id);
    CHECK(big.status == 413);
    CHECK(f.net.closed(id));
    Response chunked_big = f.ask("POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20000\r\n", &id);
    CHECK(chunked_big.status == 413);
    Response both = f.ask("POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
    CHECK(both.status == 400);
    CHECK(f.server.metrics().completions == 0);
}

TEST_CASE("serve: keep-alive, pipelining, chunked bodies and 100-continue", "[serve]")
{
    Fixture f;
    const int id = f.net.connect();
    const std::string body = "{\"prompt\": \"chunked\", \"max_tokens\": 2}";
    f.net.send(id, http_request("GET", "/health") + http_request("POST", "/v1/completions", "{\"prompt\": \"a\"}") +
            "POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + "5\r\n" + body.substr(0, 5) +
            "\r\n" + hex(body.size() - 5) + "\r\n" + body.substr(5) + "\r\n0\r\n\r\n");
    f.run();
    std::string& bytes = f.net.received(id);
    CHECK(take_response(bytes).status == 200);
    Response second = take_response(bytes);
    CHECK(second.status == 200);
    Response third = take_response(bytes);
    CHECK(third.complete);
    CHECK(f.net.open(id));

    Fixture g;
    const int slow = g.net.connect();
    g.net.send(slow, "POST /v1/completions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 15\r\n\r\n");
    CHECK(g.net.received(slow) == "HTTP/1.1 100 Continue\r\n\r\n");
    g.net.send(slow, "{\"prompt\": \"a\"}");
    g.run();
    CHECK(take_response(g.net.received(slow)).status == 200);
}

TEST_CASE("serve: the API key is checked on every request", "[serve]")
{
    tllama::serve::ServerOptions options;
    options.api_key = "sk-secret";
    Fixture f(options);
    Response none = f.ask(http_request("GET", "/health"));
    CHECK(none.status == 401);
    CHECK(none.headers["www-authenticate"] == "Bearer");
    CHECK(str(Json(none.body).root().member("error").member("code")) == "invalid_api_key");
    CHECK(f.ask(http_request("GET", "/v1/models", "", "Authorization: Bearer sk-wrong\r\n")).status == 401);
    CHECK(f.ask(http_request("GET", "/v1/models", "", "Authorization: Bearer sk-secretX\r\n")).status == 401);
    CHECK(f.ask(http_request("GET", "/v1/models", "", "Authorization: Basic sk-secret\r\n")).status == 401);
    int id = -1;
    Response refused = f.ask(completion("\"prompt\": \"x\""), &id);
    CHECK(refused.status == 401);
    CHECK(f.net.closed(id));  // its body was not read
    CHECK(f.backend.calls == 0);
    CHECK(f.ask(http_request("GET", "/v1/models", "", "Authorization: Bearer sk-secret\r\n")).status == 200);
    CHECK(f.ask(http_request("POST", "/v1/completions", "{\"prompt\": \"x\"}", "authorization: bearer  sk-secret \r\n"))
              .status == 200);
    CHECK(f.backend.calls == 1);
}

TEST_CASE("serve: chat completions are 501 without templates, validated either way", "[serve]")
{
    Fixture f;
    const std::string chat = http_request("POST", "/v1/chat/completions",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
        "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hello \"}, {\"type\": \"text\", "
        "\"text\": \"there\"}]}], \"max_tokens\": 3}");
    Response r = f.ask(chat);
    CHECK(r.status == 501);
    CHECK(str(Json(r.body).root().member("error").member("code")) == "chat_not_supported");
    for (const char* body : { "{\"messages\": []}", "{\"messages\": \"hi\"}", "{\"messages\": [{\"role\": \"bot\", "
                              "\"content\": \"x\"}]}", "{\"messages\": [{\"role\": \"user\"}]}", "{\"prompt\": \"x\"}",
             "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}" }) {
        INFO(body);
        Response bad = f.ask(http_request("POST", "/v1/chat/completions", body));
        CHECK(bad.status == 400);
        CHECK(str(Json(bad.body).root().member("error").member("param")) == "messages");
    }

    f.backend.chat = true;
    Response answer = f.ask(chat);
    REQUIRE(answer.status == 200);
    Json j(answer.body);
    CHECK(str(j.root().member("object")) == "chat.completion");
    CHECK(str(j.root().member("choices").element(0).member("message").member("role")) == "assistant");
    CHECK(str(j.root().member("choices").element(0).member("message").member("content")) == " w1 w2 w3");
    CHECK(f.backend.prompts.back() == "Hello there");

    Response streamed = f.ask(http_request("POST", "/v1/chat/completions",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 2, \"stream\": true}"));
    auto events = serve_fakes::sse_events(streamed.body);
    REQUIRE(events.size() == 4);
    Json first(events[0]);
    CHECK(str(first.root().member("object")) == "chat.completion.chunk");
    CHECK(str(first.root().member("choices").element(0).member("delta").member("role")) == "assistant");
    CHECK(str(first.root().member("choices").element(0).member("delta").member("content")) == " w1");
    Json last(events[2]);
    CHECK(str(last.root().member("choices").element(0).member("finish_reason")) == "length");
}

TEST_CASE("serve: requests wait in arrival order; a full queue answers 429", "[serve]")
{
    tllama::serve::ServerOptions options;
    options.queue_capacity = 3;
    Fixture f(options);
    std::vector<int> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(f.net.connect());
        f.net.send(ids.back(), completion("\"prompt\": \"client " + std::to_string(i) + "\", \"max_tokens\": 2"));
    }
    // Nothing ran yet: three wait, two were turned away.
    CHECK(f.server.queue_length() == 3);
    for (int i = 3; i < 5; ++i) {
        Response r = take_response(f.net.received(ids[i]));
        CHECK(r.status == 429);
        CHECK(r.headers["retry-after"] == "1");
    }
    f.run();
    CHECK(f.backend.prompts == std::vector<std::string> { "client 0", "client 1", "client 2" });
    for (int i = 0; i < 3; ++i)
        CHECK(take_response(f.net.received(ids[i])).status == 200);
    CHECK(f.server.metrics().rejected == 2);
}

TEST_CASE("serve: requests arriving during a generation are read, queued and answered", "[serve]")
{
    Fixture f;
    const int first = f.net.connect();
    int second = -1, health = -1;
    f.platform.on_pump = [&]() {
        if (f.platform.pumps == 2) {
            second = f.net.connect();
            f.net.send(second, completion("\"prompt\": \"second\", \"max_tokens\": 2"));
            health = f.net.connect();
            f.net.send(health, http_request("GET", "/health"));
        }
        f.net.service();
    };
    f.net.send(first, completion("\"prompt\": \"first\", \"max_tokens\": 5, \"stream\": true"));
    REQUIRE(f.server.step());
    // /health was answered while the first completion ran, the second waited for it.
    CHECK(take_response(f.net.received(health)).status == 200);
    CHECK(f.server.queue_length() == 1);
    f.run();
    CHECK(take_response(f.net.received(first)).status == 200);
    CHECK(take_response(f.net.received(second)).status == 200);
    CHECK(f.backend.prompts == std::vector<std::string> { "first", "second" });
}

TEST_CASE("serve: a client that leaves mid-stream stops its generation and frees the engine", "[serve]")
{
    Fixture f;
    const int leaver = f.net.connect();
    f.platform.on_pump = [&]() {
        f.net.service();
        if (f.platform.pumps == 3)
            f.net.reset(leaver);
    };
    f.net.send(leaver, completion("\"prompt\": \"p\", \"max_tokens\": 100, \"stream\": true"));
    REQUIRE(f.server.step());
    CHECK(f.backend.tokens_generated == 3);
    CHECK(f.server.metrics().cancelled == 1);
    CHECK(f.platform.lines.back().find("cancelled after 3 tokens: the client left") != std::string::npos);
    f.platform.on_pump = nullptr;
    Response next = f.ask(completion("\"prompt\": \"next\", \"max_tokens\": 2"));
    CHECK(next.status == 200);
    CHECK(f.server.metrics().connections == 0);  // everything of both is freed

    // A FIN (the client closed its socket) counts as leaving too, also while queued.
    const int closer = f.net.connect();
    f.platform.on_pump = [&]() {
        if (f.platform.pumps == 2 + 3 + 2)
            f.net.finish_sending(closer);
    };
    const int queued = f.net.connect();
    f.net.send(closer, completion("\"prompt\": \"p\", \"max_tokens\": 100"));
    f.net.send(queued, completion("\"prompt\": \"q\", \"max_tokens\": 100"));
    f.net.finish_sending(queued);
    f.run();
    CHECK(f.backend.tokens_generated < 100);
    CHECK(f.backend.prompts.back() == "p");
    CHECK(f.server.metrics().cancelled == 3);
}

TEST_CASE("serve: a reader too slow for its stream is dropped, the machine goes on", "[serve]")
{
    tllama::serve::ServerOptions options;
    options.max_output_bytes = 4096;
    Fixture f(options);
    const int slow = f.net.connect();
    f.net.set_reading(slow, false);
    f.platform.on_pump = [&]() { f.net.service(); };
    f.net.send(slow, completion("\"prompt\": \"p\", \"max_tokens\": 200, \"stream\": true"));
    REQUIRE(f.server.step());
    f.net.service();
    CHECK(f.backend.tokens_generated < 200);
    CHECK(f.net.was_reset(slow));
    CHECK(f.platform.lines.back().find("does not read fast enough") != std::string::npos);
    f.platform.on_pump = nullptr;
    CHECK(f.ask(completion("\"prompt\": \"next\", \"max_tokens\": 2")).status == 200);
}

TEST_CASE("serve: time limits for slow requests and idle connections", "[serve]")
{
    Fixture f;
    const int partial = f.net.connect();
    f.net.send(partial, "POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"pro");
    const int idle = f.net.connect();
    f.platform.now += 10001;
    f.run();
    Response timeout = take_response(f.net.received(partial));
    CHECK(timeout.status == 408);
    CHECK(f.net.closed(partial));
    CHECK(f.net.open(idle));
    f.platform.now += 60001;
    f.run();
    CHECK(f.net.closed(idle));
    CHECK(f.server.metrics().connections == 0);
}

TEST_CASE("serve: connections beyond the limit are refused, slots are reused", "[serve]")
{
    tllama::serve::ServerOptions options;
    options.max_connections = 2;
    Fixture f(options);
    const int a = f.net.connect(), b = f.net.connect();
    CHECK(a >= 0);
    CHECK(b >= 0);
    CHECK(f.net.connect() == -1);
    f.net.reset(a);
    CHECK(f.net.connect() >= 0);
}
