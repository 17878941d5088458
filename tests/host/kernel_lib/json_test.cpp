// The JSON module (kernel_lib/text/json.h): the reader on valid and invalid documents, the
// limits, value access, and the writer's output read back by the reader.
#include <catch2/catch.hpp>

#include <string.h>

#include <string>
#include <vector>

#include "kernel_lib/text/json.h"
#include "kernel_lib/text/utf8.h"

namespace {

struct Parsed {
    std::vector<kl::JsonToken> tokens = std::vector<kl::JsonToken>(256);
    std::string text;
    kl::JsonDocument document;
    bool ok = false;
    std::string error;
};

// A parsed copy of `text` (the document points into `out.text`).
void parse(Parsed& out, const std::string& text, u32 capacity = 256, u32 max_depth = 16)
{
    out.text = text;
    out.tokens.resize(capacity ? capacity : 1);
    auto result = kl::parse_json(out.text.data(), out.text.size(), out.tokens.data(), capacity, { max_depth });
    out.ok = !result.is_error();
    if (out.ok)
        out.document = result.release_value();
    else
        out.error = result.error().message();
}

bool valid(const std::string& text)
{
    Parsed p;
    parse(p, text);
    return p.ok;
}

std::string string_of(kl::JsonValue v)
{
    std::string s(v.unescaped_length() + 1, '\0');
    REQUIRE(v.get_string(s.data(), s.size()));
    s.resize(s.size() - 1);
    return s;
}

}

TEST_CASE("JSON reader accepts RFC 8259 documents", "[json]")
{
    for (const char* text : { "{}", "[]", "0", "-0", "1.5e-3", "-12.25E+2", "\"\"", "true", "false", "null",
             " \t\r\n{ \"a\" : [ 1 , 2 , { } ] , \"b\" : null } \n", "[[[[]]]]", "\"\\u00e9\\ud83d\\ude00\"",
             "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "[1,\"x\",true,null,{\"k\":[]}]" })
        CHECK(valid(text));
}

TEST_CASE("JSON reader refuses malformed documents with the byte offset", "[json]")
{
    for (const char* text : { "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "1.",
             ".5", "1e", "-", "+1", "tru", "nul", "\"abc", "\"a\nb\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"",
             "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "{} {}", "[1] x",
             "NaN", "Infinity", "[1,2", "{\"a\":}", "'a'" }) {
        Parsed p;
        parse(p, text);
        INFO(text);
        CHECK_FALSE(p.ok);
        CHECK(p.error.find("bad JSON at byte") == 0);
    }
    Parsed p;
    parse(p, "{\"a\": [1, 2,, 3]}");
    CHECK(p.error == "bad JSON at byte 12: expected a value (object, array, string, number, true, false or null)");
}

TEST_CASE("JSON reader limits depth and token count", "[json]")
{
    Parsed p;
    parse(p, std::string(16, '[') + std::string(16, ']'), 256, 16);
    CHECK(p.ok);
    parse(p, std::string(17, '[') + std::string(17, ']'), 256, 16);
    CHECK_FALSE(p.ok);
    CHECK(p.error.find("nested too deeply") != std::string::npos);
    parse(p, std::string(100000, '[') + std::string(100000, ']'), 256, 1000);
    CHECK_FALSE(p.ok);  // the depth limit is capped at 64 whatever is asked
    parse(p, "[1,2,3,4]", 5);
    CHECK(p.ok);
    parse(p, "[1,2,3,4,5]", 5);
    CHECK_FALSE(p.ok);
    CHECK(p.error.find("too many values") != std::string::npos);
    parse(p, "1", 0);
    CHECK_FALSE(p.ok);
}

TEST_CASE("JSON values: members, elements, strings and numbers", "[json]")
{
    Parsed p;
    parse(p, R"({"prompt": "Once\tupon \"a\" time\u0021", "max_tokens": 16, "temperature": 0.5,
                 "stop": ["\n", "end"], "nested": {"a": {"b": [1, [2, 3], {}]}}, "stream": true, "x": null,
                 "big": 12345678901234567890, "neg": -42, "frac": 1.5, "exp": 1e2, "k\u0065y": "escaped key"})");
    REQUIRE(p.ok);
    auto root = kl::JsonValue::root(p.document);
    REQUIRE(root.is(kl::JsonType::Object));
    CHECK(root.count() == 12);
    CHECK(string_of(root.member("prompt")) == "Once\tupon \"a\" time!");
    CHECK(root.member("prompt").raw().equals("Once\\tupon \\\"a\\\" time\\u0021"));
    i64 n = 0;
    CHECK(root.member("max_tokens").get_integer(n, 0, 100));
    CHECK(n == 16);
    CHECK_FALSE(root.member("max_tokens").get_integer(n, 0, 15));
    CHECK_FALSE(root.member("frac").get_integer(n, -100, 100));
    CHECK_FALSE(root.member("exp").get_integer(n, -1000, 1000));
    CHECK_FALSE(root.member("big").get_integer(n, INT64_MIN, INT64_MAX));
    CHECK(root.member("neg").get_integer(n, -100, 0));
    CHECK(n == -42);
    double d = 0;
    CHECK(root.member("temperature").get_double(d, 0, 2));
    CHECK(d == 0.5);
    CHECK(root.member("exp").get_double(d, 0, 1000));
    CHECK(d == 100.0);
    CHECK_FALSE(root.member("prompt").get_double(d, 0, 2));
    auto stop = root.member("stop");
    REQUIRE(stop.is(kl::JsonType::Array));
    CHECK(stop.count() == 2);
    CHECK(string_of(stop.element(0)) == "\n");
    CHECK(string_of(stop.element(1)) == "end");
    CHECK_FALSE(stop.element(2).present());
    CHECK(root.member("stream").is(kl::JsonType::True));
    CHECK(root.member("x").is(kl::JsonType::Null));
    CHECK_FALSE(root.member("missing").present());
    CHECK(string_of(root.member("key")) == "escaped key");
    // Skipping nested values: the member after "nested" is found, and nested elements too.
    auto b = root.member("nested").member("a").member("b");
    CHECK(b.count() == 3);
    CHECK(b.element(1).element(1).get_integer(n, 0, 9));
    CHECK(n == 3);
    CHECK(b.element(2).is(kl::JsonType::Object));
    CHECK(root.member_key(11).string_equals("key"));
    CHECK(string_of(root.member_value(0)) == "Once\tupon \"a\" time!");
    char small[4];
    CHECK_FALSE(root.member("prompt").get_string(small, sizeof(small)));
}

TEST_CASE("JSON unescaping makes UTF-8 from \\u escapes and surrogate pairs", "[json]")
{
    Parsed p;
    parse(p, R"(["\u00e9", "\u20ac", "\ud83d\ude00", "\u0000x", "\/\b\f\n\r\t"])");
    REQUIRE(p.ok);
    auto root = kl::JsonValue::root(p.document);
    CHECK(string_of(root.element(0)) == "\xc3\xa9");
    CHECK(string_of(root.element(1)) == "\xe2\x82\xac");
    CHECK(string_of(root.element(2)) == "\xf0\x9f\x98\x80");
    CHECK(root.element(3).unescaped_length() == 2);
    CHECK(string_of(root.element(4)) == "/\b\f\n\r\t");
}

TEST_CASE("JSON writer output is valid JSON that reads back", "[json]")
{
    kl::TextBuffer out(4096);
    kl::JsonWriter w(out);
    w.begin_object();
    w.field("text", "quote \" backslash \\ newline \n tab \t bell \x07 del \x7f caf\xc3\xa9");
    w.field("bad", kl::StringView("a\xff" "b\xe2\x82", 5));
    w.field("n", static_cast<i64>(-7));
    w.key("list");
    w.begin_array();
    w.integer(1);
    w.number(2.5, 3);
    w.boolean(true);
    w.null();
    w.begin_object();
    w.end_object();
    w.number(0.0 / 0.0, 2);
    w.end_array();
    w.key("empty");
    w.begin_array();
    w.end_array();
    w.end_object();
    REQUIRE(w.ok());
    const std::string json(out.data(), out.size());
    CHECK(json == "{\"text\":\"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007 del \\u007f caf\xc3\xa9\","
                  "\"bad\":\"a\\ufffdb\\ufffd\\ufffd\",\"n\":-7,\"list\":[1,2.500,true,null,{},null],\"empty\":[]}");
    Parsed p;
    parse(p, json);
    REQUIRE(p.ok);
    CHECK(string_of(kl::JsonValue::root(p.document).member("text")) ==
        "quote \" backslash \\ newline \n tab \t bell \x07 del \x7f caf\xc3\xa9");
}

TEST_CASE("JSON writer fails at the buffer's cap instead of cutting silently", "[json]")
{
    kl::TextBuffer out(16);
    kl::JsonWriter w(out);
    w.begin_object();
    w.field("text", "a string that does not fit");
    w.end_object();
    CHECK_FALSE(w.ok());
    CHECK(out.size() <= 16);
    kl::TextBuffer other(64);
    kl::JsonWriter bad(other);
    bad.end_object();
    CHECK_FALSE(bad.ok());
}

TEST_CASE("json_escape is unchanged for the @ lines", "[json]")
{
    char out[64];
    CHECK(kl::json_escape("a\"b\\c\n\x01\xc3\xa9", out, sizeof(out)) == 17);
    CHECK(std::string(out) == "a\\\"b\\\\c\\n\\u0001\xc3\xa9");
    CHECK(kl::json_escape("abcdef", out, 4) == 6);
    CHECK(std::string(out) == "abc");
}

TEST_CASE("UTF-8: well-formed sequences and the prefix safe to send", "[json]")
{
    auto len = [](const char* s) { return kl::utf8::sequence_length(reinterpret_cast<const u8*>(s), strlen(s)); };
    CHECK(len("a") == 1);
    CHECK(len("\xc3\xa9") == 2);
    CHECK(len("\xe2\x82\xac") == 3);
    CHECK(len("\xf0\x9f\x98\x80") == 4);
    CHECK(len("\xc0\x80") == 0);      // overlong
    CHECK(len("\xe0\x80\x80") == 0);  // overlong
    CHECK(len("\xed\xa0\x80") == 0);  // surrogate
    CHECK(len("\xf4\x90\x80\x80") == 0);  // above U+10FFFF
    CHECK(len("\xe2\x82") == 0);      // cut short
    auto prefix = [](const char* s, usize n) { return kl::utf8::complete_prefix(reinterpret_cast<const u8*>(s), n); };
    CHECK(prefix("abc", 3) == 3);
    CHECK(prefix("ab\xe2\x82", 4) == 2);
    CHECK(prefix("ab\xe2", 3) == 2);
    CHECK(prefix("ab\xe2\x82\xac", 5) == 5);
    CHECK(prefix("ab\xf0\x9f\x98", 5) == 2);
    CHECK(prefix("ab\xff", 3) == 3);       // malformed: not held back
    CHECK(prefix("ab\xe2\x41", 4) == 4);   // not a continuation: malformed, passed on
}
