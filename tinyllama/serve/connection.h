// Server::Connection: everything the server keeps for one client connection (private to
// tinyllama/serve/server.cpp and generation.cpp).
#pragma once

#include "tinyllama/serve/server.h"

namespace tllama::serve {

enum class Phase : u8 {
    Free,        // slot unused
    Reading,     // reading (and answering) requests
    Queued,      // a completion request waits in the queue
    Generating,  // its completion is running
    Closing,     // the last response goes out, then the connection closes; input is dropped
};

struct Server::Connection {
    int id = -1;
    Phase phase = Phase::Free;
    char peer[48] = {};
    kl::TextBuffer in { 0 };
    kl::TextBuffer out { 0 };

    // The request being read. The head's views point into `in`, whose memory moves when it
    // grows, so the head is parsed again on every pass (it is stateless and cheap); the
    // framing and the chunked decoder's progress are kept.
    kl::http::Request head;
    bool have_head = false;
    kl::http::BodyFraming framing;
    kl::http::ChunkedDecoder chunked { 0 };
    usize body_length = 0;     // decoded body bytes, at in.data() + head.head_length
    usize request_bytes = 0;   // head + raw body: what the request used of `in`
    bool continue_sent = false;
    bool keep_alive = true;

    bool peer_done = false;    // FIN received: the client is leaving
    bool gone = false;         // the transport dropped it (reset) while it was generating
    bool abort_now = false;    // reset it (a reader too slow, a stalled output)
    bool close_after = false;  // close once this response is out
    u64 request_started_ms = 0;
    u64 last_progress_ms = 0;

    u64 serial = 0;            // request number, for the console
    char method[12] = {};
    char path[64] = {};
    ParsedRequest parsed;
    u64 queued_ms = 0;
};

}
