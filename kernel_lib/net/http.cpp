// HTTP/1.1 request parsing (see http.h).
#include "kernel_lib/net/http.h"

#include <string.h>

#include "kernel_lib/libc/kctype.h"

namespace kl::http {

namespace {

constexpr u32 max_method_bytes = 16;
constexpr u32 max_line_extra_bytes = 256;  // a chunk extension or trailer line
constexpr u32 max_size_digits = 15;

// RFC 9110 §5.6.2 token characters.
bool is_tchar(u8 c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Field value bytes: visible ASCII, obs-text, space and tab (no other control characters).
bool is_field_byte(u8 c) { return c == '\t' || (c >= 0x20 && c != 0x7F); }

// A cursor over the head with the line-level helpers the parser needs.
struct Cursor {
    const char* data;
    usize length;
    usize pos;

    bool at_end() const { return pos >= length; }
    u8 peek() const { return static_cast<u8>(data[pos]); }
    // Consumes CRLF or LF; false if neither is here.
    bool line_end()
    {
        if (pos < length && data[pos] == '\r' && pos + 1 < length && data[pos + 1] == '\n') {
            pos += 2;
            return true;
        }
        if (pos < length && data[pos] == '\n') {
            ++pos;
            return true;
        }
        return false;
    }
};

ParseResult bad(const char* why) { return { ParseStatus::Bad, why }; }

// The request line: METHOD SP target SP HTTP/1.x (CR)LF.
ParseResult request_line(Cursor& c, Request& out)
{
    const usize method_start = c.pos;
    while (!c.at_end() && is_tchar(c.peek()))
        ++c.pos;
    if (c.pos == method_start || c.pos - method_start > max_method_bytes || c.at_end() || c.peek() != ' ')
        return bad("malformed request line (expected METHOD /path HTTP/1.1)");
    out.method = { c.data + method_start, c.pos - method_start };
    const usize target_start = ++c.pos;
    while (!c.at_end() && c.peek() > 0x20 && c.peek() < 0x7F)
        ++c.pos;
    if (c.pos == target_start || c.at_end() || c.peek() != ' ')
        return bad("malformed request target");
    out.target = { c.data + target_start, c.pos - target_start };
    if (out.target[0] != '/')
        return bad("the request target must be a path starting with '/'");
    ++c.pos;
    if (c.length - c.pos < 8 || memcmp(c.data + c.pos, "HTTP/1.", 7) != 0 || c.data[c.pos + 7] < '0' ||
        c.data[c.pos + 7] > '1')
        return bad("only HTTP/1.0 and HTTP/1.1 are spoken here");
    out.minor_version = static_cast<u8>(c.data[c.pos + 7] - '0');
    c.pos += 8;
    if (!c.line_end())
        return bad("malformed request line (junk after the HTTP version)");
    return { ParseStatus::Done, "" };
}

// One header line "name: value" (CR)LF.
ParseResult header_line(Cursor& c, Request& out)
{
    if (c.peek() == ' ' || c.peek() == '\t')
        return bad("obsolete header line folding is not accepted");
    const usize name_start = c.pos;
    while (!c.at_end() && is_tchar(c.peek()))
        ++c.pos;
    if (c.pos == name_start || c.at_end() || c.peek() != ':')
        return bad("malformed header line (expected name: value, no space before the colon)");
    if (out.header_count == max_headers)
        return { ParseStatus::TooManyHeaders, "too many header lines" };
    Header& h = out.headers[out.header_count++];
    h.name = { c.data + name_start, c.pos - name_start };
    const usize value_start = ++c.pos;
    while (!c.at_end() && is_field_byte(c.peek()))
        ++c.pos;
    h.value = StringView(c.data + value_start, c.pos - value_start).trimmed();
    if (!c.line_end())
        return bad("a control character in a header value");
    return { ParseStatus::Done, "" };
}

// The offset just past the empty line that ends the head, or 0 when there is none yet.
usize find_head_end(const char* data, usize length)
{
    for (usize i = 0; i + 1 < length; ++i) {
        if (data[i] != '\n')
            continue;
        if (data[i + 1] == '\n')
            return i + 2;
        if (data[i + 1] == '\r' && i + 2 < length && data[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

}

const StringView* Request::header(const char* name) const
{
    const StringView wanted(name);
    for (u32 i = 0; i < header_count; ++i) {
        if (headers[i].name.equals_ignoring_case(wanted))
            return &headers[i].value;
    }
    return nullptr;
}

StringView Request::path() const
{
    usize length = 0;
    while (length < target.length && target[length] != '?')
        ++length;
    return { target.data, length };
}

ParseResult parse_request(const char* data, usize length, usize max_head_bytes, Request& out)
{
    out.header_count = 0;
    Cursor c { data, length < max_head_bytes ? length : max_head_bytes, 0 };
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    while (c.line_end()) {
    }
    // The request line is checked as soon as it is complete, and its method as soon as a
    // byte that cannot be in one arrives (a TLS hello, say), so garbage is refused at once
    // rather than after the head limit.
    usize method_end = c.pos;
    while (method_end < c.length && is_tchar(static_cast<u8>(c.data[method_end])))
        ++method_end;
    const bool lone_cr = method_end == c.pos && method_end + 1 == c.length && c.data[method_end] == '\r';
    if (method_end < c.length && c.data[method_end] != ' ' && !lone_cr)
        return bad("malformed request line (expected METHOD /path HTTP/1.1)");
    const void* line_feed = memchr(c.data + c.pos, '\n', c.length - c.pos);
    if (!line_feed)
        return { length >= max_head_bytes ? ParseStatus::HeadTooLarge : ParseStatus::NeedMore, "" };
    ParseResult line = request_line(c, out);
    if (line.status != ParseStatus::Done)
        return line;
    // The head ends at the first empty line, looked for from the request line's own LF.
    const usize line_end = c.pos;
    const usize relative_end = find_head_end(c.data + line_end - 1, c.length - (line_end - 1));
    if (relative_end == 0)
        return { length >= max_head_bytes ? ParseStatus::HeadTooLarge : ParseStatus::NeedMore, "" };
    const usize end = line_end - 1 + relative_end;
    Cursor head { data, end, line_end };
    while (!head.line_end()) {
        ParseResult h = header_line(head, out);
        if (h.status != ParseStatus::Done)
            return h;
    }
    if (head.pos != end)
        return bad("malformed header section");
    out.head_length = end;
    return { ParseStatus::Done, "" };
}

bool wants_keep_alive(const Request& request)
{
    const StringView* connection = request.header("connection");
    if (connection) {
        if (connection->equals_ignoring_case("close"))
            return false;
        if (connection->equals_ignoring_case("keep-alive"))
            return true;
    }
    return request.minor_version >= 1;
}

FramingResult body_framing(const Request& request)
{
    FramingResult result { true, {}, 0, "" };
    bool have_length = false, chunked = false;
    for (u32 i = 0; i < request.header_count; ++i) {
        const Header& h = request.headers[i];
        if (h.name.equals_ignoring_case("transfer-encoding")) {
            if (!h.value.equals_ignoring_case("chunked") || chunked)
                return { false, {}, 501, "only the chunked transfer coding is supported" };
            chunked = true;
        } else if (h.name.equals_ignoring_case("content-length")) {
            u64 value = 0;
            if (h.value.empty() || h.value.length > 15)
                return { false, {}, 400, "Content-Length must be a number of bytes" };
            for (usize k = 0; k < h.value.length; ++k) {
                if (h.value[k] < '0' || h.value[k] > '9')
                    return { false, {}, 400, "Content-Length must be a number of bytes" };
                value = value * 10 + static_cast<u64>(h.value[k] - '0');
            }
            if (have_length && value != result.framing.length)
                return { false, {}, 400, "two different Content-Length headers" };
            have_length = true;
            result.framing = { BodyFraming::Kind::Length, value };
        }
    }
    if (chunked && have_length)
        return { false, {}, 400, "Content-Length and Transfer-Encoding together" };
    if (chunked)
        result.framing = { BodyFraming::Kind::Chunked, 0 };
    return result;
}

ChunkedDecoder::Status ChunkedDecoder::feed(char* body, usize available)
{
    while (m_raw < available) {
        if (m_state == State::Done)
            return Status::Done;
        if (m_state == State::Data) {
            const usize run = static_cast<usize>(kl::min<u64>(m_chunk_left, available - m_raw));
            memmove(body + m_decoded, body + m_raw, run);
            m_decoded += run;
            m_raw += run;
            m_chunk_left -= run;
            if (m_chunk_left == 0)
                m_state = State::DataCr;
            continue;
        }
        const Status status = step(body, body[m_raw++]);
        if (status != Status::NeedMore)
            return status;
    }
    return m_state == State::Done ? Status::Done : Status::NeedMore;
}

ChunkedDecoder::Status ChunkedDecoder::step(char*, char c)
{
    switch (m_state) {
    case State::Size:
        return size_byte(c);
    case State::Extension:
        return extension_byte(c);
    case State::SizeLf:
        return expect_lf(c, state_after_size_line(), "a chunk size line must end in CRLF");
    case State::Data:
        return Status::NeedMore;  // handled in feed()
    case State::DataCr:
        return data_end_byte(c);
    case State::DataLf:
        return expect_lf(c, State::Size, "chunk data must end in CRLF");
    case State::Trailer:
        return trailer_start_byte(c);
    case State::TrailerLf:
        return trailer_line_byte(c);
    case State::TrailerCr:
        return expect_lf(c, State::Trailer, "a trailer line must end in CRLF");
    case State::LastLf:
        return expect_lf(c, State::Done, "the chunked body must end in an empty line");
    case State::Done:
        return Status::Done;
    }
    return Status::Bad;
}

ChunkedDecoder::Status ChunkedDecoder::size_byte(char c)
{
    const int digit = kl::hex_digit_value(c);
    if (digit >= 0) {
        if (++m_size_digits > max_size_digits)
            return Status::TooLarge;
        m_chunk_left = m_chunk_left * 16 + static_cast<u64>(digit);
        return Status::NeedMore;
    }
    if (m_size_digits == 0)
        return bad("a chunk must start with its size in hex");
    if (m_chunk_left > m_max_body - m_decoded)
        return Status::TooLarge;
    if (c == ';' || c == ' ' || c == '\t') {
        m_state = State::Extension;
        m_line_bytes = 0;
    } else if (c == '\r') {
        m_state = State::SizeLf;
    } else if (c == '\n') {
        m_state = state_after_size_line();
    } else {
        return bad("malformed chunk size");
    }
    return Status::NeedMore;
}

ChunkedDecoder::Status ChunkedDecoder::extension_byte(char c)
{
    if (c == '\r' || c == '\n') {
        m_state = c == '\r' ? State::SizeLf : state_after_size_line();
        return Status::NeedMore;
    }
    if (++m_line_bytes > max_line_extra_bytes || !is_field_byte(static_cast<u8>(c)))
        return bad("malformed or overlong chunk extension");
    return Status::NeedMore;
}

ChunkedDecoder::Status ChunkedDecoder::expect_lf(char c, State next, const char* why)
{
    if (c != '\n')
        return bad(why);
    m_state = next;
    return next == State::Done ? Status::Done : Status::NeedMore;
}

ChunkedDecoder::Status ChunkedDecoder::data_end_byte(char c)
{
    if (c == '\n') {
        m_state = State::Size;
    } else if (c == '\r') {
        m_state = State::DataLf;
    } else {
        return bad("chunk data longer than its size");
    }
    m_size_digits = 0;
    return Status::NeedMore;
}

ChunkedDecoder::Status ChunkedDecoder::trailer_start_byte(char c)
{
    if (c == '\r') {
        m_state = State::LastLf;
    } else if (c == '\n') {
        m_state = State::Done;
        return Status::Done;
    } else if (is_field_byte(static_cast<u8>(c))) {
        m_state = State::TrailerLf;
        m_line_bytes = 1;
    } else {
        return bad("a control character in a trailer line");
    }
    return Status::NeedMore;
}

ChunkedDecoder::Status ChunkedDecoder::trailer_line_byte(char c)
{
    if (c == '\n' || c == '\r') {
        m_state = c == '\r' ? State::TrailerCr : State::Trailer;
    } else if (++m_line_bytes > max_line_extra_bytes || !is_field_byte(static_cast<u8>(c))) {
        return bad("malformed or overlong trailer line");
    }
    return Status::NeedMore;
}

const char* reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

}
