// The server's counters, and GET /metrics in Prometheus' text format (version 0.0.4).
//
// Requests by status code, completions finished and cancelled, requests turned away
// because the queue was full, prompt and completion tokens, the generation rate (last and
// overall) and time to first token (last, sum and count), the queue and connections now;
// the backend adds its own lines (the micro-JIT's kernel tiers).
#pragma once

#include "kernel_lib/text/text_buffer.h"
#include "tinyllama/serve/backend.h"

namespace tllama::serve {

struct Metrics {
    static constexpr u32 status_slots = 16;
    struct StatusCount {
        int status;
        u64 count;
    };
    StatusCount responses[status_slots] = {};
    u64 completions = 0;          // generations that ran to their end
    u64 cancelled = 0;            // stopped because the client left or read too slowly
    u64 rejected = 0;             // 429: the queue was full
    u64 prompt_tokens = 0;
    u64 completion_tokens = 0;
    double generation_seconds = 0;  // sum over completions of completion tokens / rate
    double last_tok_per_s = 0;
    double last_ttft_ms = 0;
    double ttft_ms_sum = 0;
    u64 ttft_count = 0;
    u32 queue_length = 0;
    u32 connections = 0;

    void count_response(int status);
    void count_completion(const Usage& usage, bool cancelled_early);
    // The whole exposition, the backend's lines included.
    bool render(kl::TextBuffer& out, const Backend& backend) const;
};

}
