// Fuzz targets for what arrives over the network: the JSON reader and the HTTP/1.1 request
// parser with its chunked body decoder.
//
// fuzz_json: the input is a JSON text (depth limit 16, 512 tokens). An accepted document
// must have every token's span inside the text and a consistent tree (each container's
// children counted, `next` pointing past them); written out again with JsonWriter from its
// unescaped values, it must parse to the same tree with the same strings and numbers.
// fuzz_http: byte 0 picks the head limit (64 + 32 * byte), byte 1 a split point, the rest is
// what a client sent. A parsed head must have its views inside the bytes, and every
// shorter prefix of a complete head must be "need more"; a chunked body must decode to the
// same bytes fed whole or in two pieces, within the body limit.
#include <string.h>

#include <string>
#include <vector>

#include "kernel_lib/net/http.h"
#include "kernel_lib/text/json.h"
#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"

using fuzz_support::byte_or_zero;
using fuzz_support::inside;

namespace {

constexpr u32 json_tokens = 512;

// Writes the value at `v` with JsonWriter (strings unescaped first).
void rewrite(kl::JsonValue v, kl::JsonWriter& w)
{
    switch (v.type()) {
    case kl::JsonType::Object:
        w.begin_object();
        for (u32 i = 0; i < v.count(); ++i) {
            std::string key(v.member_key(i).unescaped_length() + 1, '\0');
            FUZZ_CHECK(v.member_key(i).get_string(key.data(), key.size()), "a key does not fit its unescaped length");
            w.key(key.c_str());  // keys with NULs end early: compared loosely below
            rewrite(v.member_value(i), w);
        }
        w.end_object();
        return;
    case kl::JsonType::Array: {
        w.begin_array();
        kl::JsonValue e = v.first();
        for (u32 i = 0; i < v.count(); ++i, e = e.next_sibling())
            rewrite(e, w);
        w.end_array();
        return;
    }
    case kl::JsonType::String: {
        std::string s(v.unescaped_length() + 1, '\0');
        usize length = 0;
        FUZZ_CHECK(v.get_string(s.data(), s.size(), &length), "a string does not fit its unescaped length");
        w.string(kl::StringView(s.data(), length));
        return;
    }
    case kl::JsonType::Number:
        w.raw(v.raw());
        return;
    case kl::JsonType::True: w.boolean(true); return;
    case kl::JsonType::False: w.boolean(false); return;
    case kl::JsonType::Null: w.null(); return;
    }
}

void check_tree(const kl::JsonDocument& d)
{
    for (u32 i = 0; i < d.token_count; ++i) {
        const kl::JsonToken& t = d.tokens[i];
        FUZZ_CHECK(t.start <= t.end && t.end <= d.length, "token %u spans [%u, %u) of %zu", i, t.start, t.end, d.length);
        FUZZ_CHECK(t.next > i && t.next <= d.token_count, "token %u: next %u", i, t.next);
        if (t.type == kl::JsonType::Object || t.type == kl::JsonType::Array) {
            u32 children = 0;
            for (u32 c = i + 1; c < t.next; c = d.tokens[c].next)
                ++children;
            const u32 expected = t.type == kl::JsonType::Object ? 2 * t.count : t.count;
            FUZZ_CHECK(children == expected, "token %u: %u children, count says %u", i, children, expected);
        } else {
            FUZZ_CHECK(t.next == i + 1, "scalar token %u has next %u", i, t.next);
        }
    }
}

bool same_values(kl::JsonValue a, kl::JsonValue b)
{
    if (a.type() != b.type())
        return false;
    if (a.type() == kl::JsonType::Object || a.type() == kl::JsonType::Array) {
        if (a.count() != b.count())
            return false;
        kl::JsonValue x = a.first(), y = b.first();
        const u32 items = a.type() == kl::JsonType::Object ? 2 * a.count() : a.count();
        for (u32 i = 0; i < items; ++i, x = x.next_sibling(), y = y.next_sibling()) {
            // Keys holding a NUL were shortened by the C-string key() API.
            const bool is_key = a.type() == kl::JsonType::Object && i % 2 == 0;
            if (!is_key && !same_values(x, y))
                return false;
        }
        return true;
    }
    if (a.type() == kl::JsonType::String) {
        std::string s(a.unescaped_length() + 1, '\0'), t(b.unescaped_length() + 1, '\0');
        a.get_string(s.data(), s.size());
        b.get_string(t.data(), t.size());
        return s == t;
    }
    return a.raw().equals(b.raw());
}

}

int fuzz_json(const u8* data, size_t size)
{
    std::vector<kl::JsonToken> tokens(json_tokens);
    const char* text = reinterpret_cast<const char*>(data);
    auto parsed = kl::parse_json(text, size, tokens.data(), json_tokens, { 16 });
    if (parsed.is_error())
        return 0;
    const kl::JsonDocument document = parsed.release_value();
    check_tree(document);
    kl::TextBuffer out(16 * size + 64);
    kl::JsonWriter writer(out);
    rewrite(kl::JsonValue::root(document), writer);
    FUZZ_CHECK(writer.ok(), "the writer failed on a document of %zu bytes", size);
    std::vector<kl::JsonToken> again(json_tokens);
    auto reparsed = kl::parse_json(out.data(), out.size(), again.data(), json_tokens, { 16 });
    FUZZ_CHECK(!reparsed.is_error(), "the rewritten document does not parse: %s",
        reparsed.is_error() ? reparsed.error().message() : "");
    const kl::JsonDocument second = reparsed.release_value();
    FUZZ_CHECK(second.token_count == document.token_count, "%u tokens became %u", document.token_count,
        second.token_count);
    FUZZ_CHECK(same_values(kl::JsonValue::root(document), kl::JsonValue::root(second)),
        "the rewritten document holds other values");
    return 0;
}

int fuzz_http(const u8* data, size_t size)
{
    const usize max_head = 64 + 32 * static_cast<usize>(byte_or_zero(data, size, 0));
    const usize split = byte_or_zero(data, size, 1);
    std::string bytes(reinterpret_cast<const char*>(data) + (size < 2 ? size : 2), size < 2 ? 0 : size - 2);
    kl::http::Request request;
    const auto result = kl::http::parse_request(bytes.data(), bytes.size(), max_head, request);
    if (result.status != kl::http::ParseStatus::Done)
        return 0;
    FUZZ_CHECK(request.head_length <= bytes.size() && request.head_length <= max_head, "head of %zu bytes",
        request.head_length);
    FUZZ_CHECK(inside(request.method.data, request.method.length, bytes.data(), request.head_length), "method outside");
    FUZZ_CHECK(inside(request.target.data, request.target.length, bytes.data(), request.head_length), "target outside");
    for (u32 i = 0; i < request.header_count; ++i) {
        FUZZ_CHECK(inside(request.headers[i].name.data, request.headers[i].name.length, bytes.data(),
                       request.head_length), "header name outside");
        FUZZ_CHECK(inside(request.headers[i].value.data, request.headers[i].value.length, bytes.data(),
                       request.head_length), "header value outside");
    }
    // Every prefix of a complete head (a few of them: the check is quadratic) needs more bytes.
    for (usize n = 0; n < request.head_length; n += 1 + request.head_length / 32) {
        kl::http::Request partial;
        const auto status = kl::http::parse_request(bytes.data(), n, max_head, partial).status;
        FUZZ_CHECK(status == kl::http::ParseStatus::NeedMore || status == kl::http::ParseStatus::Bad,
            "a %zu-byte prefix of a %zu-byte head parsed as %d", n, request.head_length, static_cast<int>(status));
    }
    const auto framing = kl::http::body_framing(request);
    if (!framing.ok || framing.framing.kind != kl::http::BodyFraming::Kind::Chunked)
        return 0;
    const usize max_body = 1 + split * 4;
    std::string whole = bytes.substr(request.head_length), pieces = whole;
    kl::http::ChunkedDecoder one(max_body), two(max_body);
    const auto status_whole = one.feed(whole.data(), whole.size());
    const usize cut = split < pieces.size() ? split : pieces.size();
    auto status_pieces = two.feed(pieces.data(), cut);
    if (status_pieces == kl::http::ChunkedDecoder::Status::NeedMore)
        status_pieces = two.feed(pieces.data(), pieces.size());
    FUZZ_CHECK(status_whole == status_pieces, "whole: %d, in two pieces: %d", static_cast<int>(status_whole),
        static_cast<int>(status_pieces));
    if (status_whole == kl::http::ChunkedDecoder::Status::Done) {
        FUZZ_CHECK(one.body_length() <= max_body && one.body_length() <= one.consumed(), "body %zu of %zu consumed",
            one.body_length(), one.consumed());
        FUZZ_CHECK(one.body_length() == two.body_length() && one.consumed() == two.consumed() &&
                memcmp(whole.data(), pieces.data(), one.body_length()) == 0,
            "the body decoded differently in two pieces");
    }
    return 0;
}
