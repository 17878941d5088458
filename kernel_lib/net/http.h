// HTTP/1.1 request parsing (RFC 9112), incremental and without copies, in the style of
// picohttpparser: parse_request() looks at the bytes received so far and answers "need
// more", "bad request" or "done" with views into the buffer; it keeps no state, so the
// caller simply calls it again when more bytes arrive. Bodies are framed by Content-Length
// or decoded from chunked transfer coding in place (ChunkedDecoder, which does keep state,
// so each byte is looked at once). Every size is bounded by the caller's limits; nothing is
// allocated. Used by the OpenAI-compatible server (tinyllama/serve), fuzzed by
// tests/fuzz/targets/http_targets.cpp.
#pragma once

#include "kernel_lib/text/string_view.h"

namespace kl::http {

constexpr u32 max_headers = 32;

struct Header {
    StringView name;
    StringView value;  // without surrounding spaces
};

struct Request {
    StringView method;
    StringView target;  // the request-target as sent ("/v1/models", "/x?y=1")
    u8 minor_version = 1;  // HTTP/1.<minor>
    Header headers[max_headers];
    u32 header_count = 0;
    usize head_length = 0;  // the request line and headers, up to and including the empty line

    // The value of the first header named `name` (any case), or nullptr.
    const StringView* header(const char* name) const;
    // The path part of the target (before any '?').
    StringView path() const;
};

enum class ParseStatus : u8 {
    Done,          // a whole head was parsed; body (if any) follows at head_length
    NeedMore,      // no error so far, the head is not complete yet
    Bad,           // malformed: answer 400 and close
    HeadTooLarge,  // no end of head within max_head_bytes: answer 431 and close
    TooManyHeaders // more than max_headers: 431 as well
};

struct ParseResult {
    ParseStatus status;
    const char* why;  // for Bad, a short reason ("header name has a space before ':'")
};

// Parses the request head at the start of [data, data + length). Lines may end in CRLF or
// a bare LF (RFC 9112 §2.2 lets a recipient accept it); obsolete line folding, control
// characters and anything but HTTP/1.0 or HTTP/1.1 are Bad.
ParseResult parse_request(const char* data, usize length, usize max_head_bytes, Request& out);

// Whether the client asked to keep the connection open after this request (HTTP/1.1 default
// yes unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive").
bool wants_keep_alive(const Request& request);

// How the body of a request is delimited (RFC 9112 §6.3).
struct BodyFraming {
    enum class Kind : u8 { None, Length, Chunked } kind = Kind::None;
    u64 length = 0;  // Kind::Length
};

struct FramingResult {
    bool ok;
    BodyFraming framing;
    int status;       // when !ok: 400 (malformed), 501 (a transfer coding other than chunked)
    const char* why;
};

// Content-Length must be digits (repeats must agree); Transfer-Encoding must be exactly
// "chunked"; both at once is refused (a request smuggling vector).
FramingResult body_framing(const Request& request);

// Decodes a chunked body in place: the chunk data is moved to the start of the body region
// as it is found, over the chunk-size lines. Feed it the whole region each time (the same
// bytes plus whatever arrived since): it continues where it stopped.
class ChunkedDecoder {
public:
    enum class Status : u8 { NeedMore, Done, Bad, TooLarge };

    explicit ChunkedDecoder(usize max_body_bytes) : m_max_body(max_body_bytes) {}

    Status feed(char* body, usize available);
    usize body_length() const { return m_decoded; }      // decoded bytes at body[0..]
    usize consumed() const { return m_raw; }             // raw bytes of the region used up
    const char* why() const { return m_why; }

private:
    enum class State : u8 { Size, Extension, SizeLf, Data, DataCr, DataLf, Trailer, TrailerLf, TrailerCr, LastLf, Done };
    Status bad(const char* why)
    {
        m_why = why;
        return Status::Bad;
    }
    // One byte in the current state (Data runs are copied by feed() instead); it hands
    // each state to one of the steps below.
    Status step(char* body, char c);
    Status size_byte(char c);           // Size: a hex digit, or what ends the size
    Status extension_byte(char c);      // Extension: checked and skipped to the line end
    Status expect_lf(char c, State next, const char* why);  // SizeLf, DataLf, TrailerCr, LastLf
    Status data_end_byte(char c);       // DataCr: the CR (or bare LF) after a chunk's data
    Status trailer_start_byte(char c);  // Trailer: a trailer line or the final empty line
    Status trailer_line_byte(char c);   // TrailerLf: the rest of a trailer line
    // A size line ends: its chunk's data follows, or the trailer after the last (zero) chunk.
    State state_after_size_line() const { return m_chunk_left ? State::Data : State::Trailer; }

    usize m_max_body;
    usize m_raw = 0;
    usize m_decoded = 0;
    u64 m_chunk_left = 0;
    u32 m_size_digits = 0;
    u32 m_line_bytes = 0;  // extension or trailer line length so far (bounded)
    State m_state = State::Size;
    const char* m_why = "";
};

// The reason phrase of a status code this server sends ("Not Found").
const char* reason_phrase(int status);

}
