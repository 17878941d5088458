// The HTTP/1.1 request parser (kernel_lib/net/http.h): whole heads, the same bytes fed one
// at a time, malformed heads, limits, body framing and the chunked decoder.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "kernel_lib/net/http.h"

using kl::http::ParseStatus;

namespace {

// Parses a copy of `text` that lives until the next call (the request's views point into it).
kl::http::ParseResult parse(const std::string& text, kl::http::Request& out, usize max_head = 8192)
{
    static std::string kept;
    kept = text;
    return kl::http::parse_request(kept.data(), kept.size(), max_head, out);
}

std::string view(kl::StringView v) { return std::string(v.data, v.length); }

}

TEST_CASE("HTTP: a request head with headers", "[http]")
{
    const std::string text = "POST /v1/completions?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                             "Content-Type:application/json\r\nContent-Length:  12 \r\n"
                             "Authorization: Bearer sk-1\r\n\r\n{\"a\": true}X";
    kl::http::Request r;
    auto result = parse(text, r);
    REQUIRE(result.status == ParseStatus::Done);
    CHECK(view(r.method) == "POST");
    CHECK(view(r.target) == "/v1/completions?x=1");
    CHECK(view(r.path()) == "/v1/completions");
    CHECK(r.minor_version == 1);
    CHECK(r.header_count == 4);
    CHECK(view(*r.header("content-type")) == "application/json");
    CHECK(view(*r.header("CONTENT-LENGTH")) == "12");
    CHECK(view(*r.header("authorization")) == "Bearer sk-1");
    CHECK(r.header("cookie") == nullptr);
    CHECK(r.head_length == text.find("{"));
    auto framing = kl::http::body_framing(r);
    CHECK(framing.ok);
    CHECK(framing.framing.kind == kl::http::BodyFraming::Kind::Length);
    CHECK(framing.framing.length == 12);
    CHECK(kl::http::wants_keep_alive(r));
}

TEST_CASE("HTTP: bare LF line ends, no headers, leading empty lines", "[http]")
{
    kl::http::Request r;
    REQUIRE(parse("GET /health HTTP/1.0\n\n", r).status == ParseStatus::Done);
    CHECK(r.header_count == 0);
    CHECK(r.head_length == 22);
    CHECK_FALSE(kl::http::wants_keep_alive(r));
    REQUIRE(parse("\r\nGET / HTTP/1.1\r\n\r\n", r).status == ParseStatus::Done);
    CHECK(r.head_length == 20);
    REQUIRE(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", r).status == ParseStatus::Done);
    CHECK_FALSE(kl::http::wants_keep_alive(r));
    REQUIRE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", r).status == ParseStatus::Done);
    CHECK(kl::http::wants_keep_alive(r));
}

TEST_CASE("HTTP: fed byte by byte, the head is NeedMore until its last byte", "[http]")
{
    const std::string text = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                             "X-Empty:\r\n\r\n";
    kl::http::Request r;
    for (usize n = 0; n < text.size(); ++n) {
        INFO(n);
        REQUIRE(kl::http::parse_request(text.data(), n, 8192, r).status == ParseStatus::NeedMore);
    }
    REQUIRE(parse(text, r).status == ParseStatus::Done);
    CHECK(r.head_length == text.size());
    CHECK(view(*r.header("x-empty")).empty());
    CHECK(kl::http::body_framing(r).framing.kind == kl::http::BodyFraming::Kind::Chunked);
}

TEST_CASE("HTTP: malformed heads are Bad as soon as the request line is complete", "[http]")
{
    using namespace std::string_literals;
    for (const std::string& text : std::vector<std::string> { "GET\r\n\r\n"s, "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1x\r\n\r\n",
             "GET http://a/ HTTP/1.1\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nName : v\r\n\r\n",
             "GET / HTTP/1.1\r\n: v\r\n\r\n", "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n"s,
             "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET /a\x01 HTTP/1.1\r\n\r\n",
             "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"s, "\x16\x03\x01"s }) {
        kl::http::Request r;
        INFO(text);
        CHECK(parse(text, r).status == ParseStatus::Bad);
    }
    kl::http::Request r;
    CHECK(parse("BREW /pot HTCPCP/1.0\r\n", r).status == ParseStatus::Bad);  // no end of head needed
}

TEST_CASE("HTTP: head and header count limits", "[http]")
{
    kl::http::Request r;
    std::string big = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a');
    CHECK(parse(big, r).status == ParseStatus::HeadTooLarge);
    CHECK(parse(std::string(9000, 'A'), r).status == ParseStatus::HeadTooLarge);
    CHECK(parse(std::string(100, 'A'), r).status == ParseStatus::NeedMore);
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 33; ++i)
        many += "H" + std::to_string(i) + ": v\r\n";
    CHECK(parse(many + "\r\n", r).status == ParseStatus::TooManyHeaders);
    // A head that ends exactly at the limit is fine; one byte more is not.
    std::string exact = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n";
    CHECK(parse(exact, r, exact.size()).status == ParseStatus::Done);
    CHECK(parse(exact, r, exact.size() - 1).status == ParseStatus::HeadTooLarge);
}

TEST_CASE("HTTP: body framing rules", "[http]")
{
    auto framing = [](const std::string& headers) {
        static std::string text;
        text = "POST / HTTP/1.1\r\n" + headers + "\r\n";
        static kl::http::Request r;
        REQUIRE(kl::http::parse_request(text.data(), text.size(), 8192, r).status == ParseStatus::Done);
        return kl::http::body_framing(r);
    };
    CHECK(framing("").framing.kind == kl::http::BodyFraming::Kind::None);
    CHECK(framing("Content-Length: 0\r\n").framing.kind == kl::http::BodyFraming::Kind::Length);
    CHECK(framing("Content-Length: 5\r\nContent-Length: 5\r\n").ok);
    CHECK(framing("Content-Length: 5\r\nContent-Length: 6\r\n").status == 400);
    CHECK(framing("Content-Length: -1\r\n").status == 400);
    CHECK(framing("Content-Length: 1e3\r\n").status == 400);
    CHECK(framing("Content-Length: \r\n").status == 400);
    CHECK(framing("Content-Length: 9999999999999999\r\n").status == 400);
    CHECK(framing("Transfer-Encoding: gzip\r\n").status == 501);
    CHECK(framing("Transfer-Encoding: gzip, chunked\r\n").status == 501);
    CHECK(framing("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n").status == 400);
    CHECK(framing("Transfer-Encoding: Chunked\r\n").framing.kind == kl::http::BodyFraming::Kind::Chunked);
}

TEST_CASE("HTTP: chunked bodies decode in place, fed whole or byte by byte", "[http]")
{
    const std::string raw = "5\r\nhello\r\n7;ext=1\r\n, world\r\n1\r\n!\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    {
        std::string body = raw;
        kl::http::ChunkedDecoder d(1024);
        REQUIRE(d.feed(body.data(), body.size()) == kl::http::ChunkedDecoder::Status::Done);
        CHECK(body.substr(0, d.body_length()) == "hello, world!");
        CHECK(raw.substr(d.consumed()) == "NEXT");
    }
    {
        std::string body = raw;
        kl::http::ChunkedDecoder d(1024);
        usize n = 0;
        for (; n < raw.size(); ++n) {
            auto status = d.feed(body.data(), n);
            if (status == kl::http::ChunkedDecoder::Status::Done)
                break;
            REQUIRE(status == kl::http::ChunkedDecoder::Status::NeedMore);
        }
        CHECK(n == raw.size() - 4);
        CHECK(body.substr(0, d.body_length()) == "hello, world!");
    }
    {
        std::string body = "3\nabc\n0\n\n";  // bare LFs
        kl::http::ChunkedDecoder d(1024);
        REQUIRE(d.feed(body.data(), body.size()) == kl::http::ChunkedDecoder::Status::Done);
        CHECK(body.substr(0, d.body_length()) == "abc");
    }
}

TEST_CASE("HTTP: chunked bodies that are malformed or too large", "[http]")
{
    using Status = kl::http::ChunkedDecoder::Status;
    auto decode = [](std::string body, usize max) {
        kl::http::ChunkedDecoder d(max);
        return d.feed(body.data(), body.size());
    };
    CHECK(decode("x\r\n", 100) == Status::Bad);
    CHECK(decode("\r\n", 100) == Status::Bad);
    CHECK(decode("3\r\nabcd\r\n", 100) == Status::Bad);
    CHECK(decode("3\rx", 100) == Status::Bad);
    CHECK(decode("3\r\nabc\rx", 100) == Status::Bad);
    CHECK(decode("65\r\n", 100) == Status::TooLarge);  // 0x65 = 101 bytes
    CHECK(decode("64\r\n", 100) == Status::NeedMore);
    CHECK(decode("40\r\n" + std::string(64, 'a') + "\r\n25\r\n", 100) == Status::TooLarge);
    CHECK(decode("1000000000000000\r\n", ~0ull) == Status::TooLarge);
    CHECK(decode("1;" + std::string(300, 'e') + "\r\n", 100) == Status::Bad);
    CHECK(decode("0\r\n" + std::string(300, 't') + "\r\n", 100) == Status::Bad);
    // Trailer lines: field bytes only, from the first one on, and CR only before the LF.
    CHECK(decode("0\r\nA: b\r\nC: d\n\r\n", 100) == Status::Done);
    CHECK(decode("0\r\n\x01A: b\r\n\r\n", 100) == Status::Bad);
    CHECK(decode("0\r\nA: \x7f\r\n\r\n", 100) == Status::Bad);
    CHECK(decode("0\r\nA: b\rc\r\n\r\n", 100) == Status::Bad);
    CHECK(decode("0\r\nA: b\r\r\n\r\n", 100) == Status::Bad);
}
