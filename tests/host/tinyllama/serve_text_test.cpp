// The pieces under the server's streaming: the SSE framing in chunked transfer coding, and
// CompletionText's stop sequences and hold-back (tinyllama/serve/responses.h,
// completion_text.h).
#include <catch2/catch.hpp>
#include <string.h>

#include <string>

#include "tinyllama/serve/completion_text.h"
#include "tinyllama/serve/responses.h"

namespace {

std::string view(kl::StringView v) { return std::string(v.data, v.length); }

// Adds `piece` and returns what became ready (and takes it).
std::string feed(tllama::serve::CompletionText& t, const char* piece)
{
    t.add(piece, strlen(piece));
    std::string ready = view(t.ready());
    t.take(ready.size());
    return ready;
}

}

TEST_CASE("SSE framing: each event is one HTTP chunk, [DONE] and the last chunk end it", "[serve]")
{
    kl::TextBuffer out(4096);
    REQUIRE(tllama::serve::begin_event_stream(out, true));
    const usize head = out.size();
    CHECK(view(out.view()) == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                              "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(tllama::serve::append_event(out, "{\"a\":1}"));
    CHECK(view(out.view()).substr(head) == "f\r\ndata: {\"a\":1}\n\n\r\n");
    REQUIRE(tllama::serve::end_event_stream(out));
    CHECK(view(out.view()).substr(head + 20) == "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n");
    kl::TextBuffer small(10);
    CHECK_FALSE(tllama::serve::append_event(small, "{\"a\":1}"));
}

TEST_CASE("CompletionText: no stop sequences, whole characters only", "[serve]")
{
    tllama::serve::CompletionRequest request;
    tllama::serve::CompletionText t;
    t.reset(request);
    CHECK(feed(t, "Once") == "Once");
    CHECK(feed(t, " caf\xc3") == " caf");
    CHECK(feed(t, "\xa9!") == "\xc3\xa9!");
    CHECK(feed(t, "\xf0\x9f") == "");
    t.finish();
    CHECK(view(t.ready()) == "\xf0\x9f");  // at the end, whatever is left goes (the writer replaces it)
    CHECK(view(t.text()) == "Once caf\xc3\xa9!\xf0\x9f");
}

TEST_CASE("CompletionText: stop sequences across pieces, held back until decided", "[serve]")
{
    tllama::serve::CompletionRequest request;
    request.stop[0] = "The end";
    request.stop[1] = "\n\n";
    request.stop_count = 2;
    tllama::serve::CompletionText t;
    t.reset(request);
    CHECK(feed(t, "and The") == "and ");
    CHECK(feed(t, " e") == "");
    CHECK(feed(t, "xit.") == "The exit.");
    CHECK(feed(t, "\n") == "");
    CHECK(feed(t, "x") == "\nx");
    CHECK(feed(t, " The en") == " ");
    CHECK_FALSE(t.add("d.", 2));
    CHECK(t.stop_matched());
    CHECK(view(t.text()) == "and The exit.\nx ");
    CHECK(view(t.ready()) == "");
    CHECK_FALSE(t.add("more", 4));

    t.reset(request);
    CHECK_FALSE(t.add("a\n\nb", 4));  // a stop inside one piece
    CHECK(view(t.text()) == "a");
    CHECK(view(t.ready()) == "a");
}

TEST_CASE("CompletionText: the cap ends the text", "[serve]")
{
    tllama::serve::CompletionRequest request;
    tllama::serve::CompletionText t;
    t.reset(request);
    const std::string big(tllama::serve::max_completion_bytes, 'x');
    CHECK(t.add(big.data(), big.size()));
    CHECK_FALSE(t.add("y", 1));
    CHECK(t.full());
    CHECK(t.text().length == tllama::serve::max_completion_bytes);
}
