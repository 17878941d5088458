// Metrics and their Prometheus exposition (see metrics.h).
#include "tinyllama/serve/metrics.h"

namespace tllama::serve {

void Metrics::count_response(int status)
{
    for (auto& slot : responses) {
        if (slot.status == status || slot.status == 0) {
            slot.status = status;
            ++slot.count;
            return;
        }
    }
    // More distinct codes than slots cannot happen with the codes this server sends; the
    // last slot then collects the rest rather than losing them.
    ++responses[status_slots - 1].count;
}

void Metrics::count_completion(const Usage& usage, bool cancelled_early)
{
    if (cancelled_early)
        ++cancelled;
    else
        ++completions;
    prompt_tokens += usage.prompt_tokens;
    completion_tokens += usage.completion_tokens;
    if (usage.tok_per_s > 0) {
        last_tok_per_s = usage.tok_per_s;
        generation_seconds += usage.completion_tokens / usage.tok_per_s;
    }
    if (usage.completion_tokens > 0) {
        last_ttft_ms = usage.ttft_ms;
        ttft_ms_sum += usage.ttft_ms;
        ++ttft_count;
    }
}

bool Metrics::render(kl::TextBuffer& out, const Backend& backend) const
{
    bool ok = out.append("# HELP bareflow_requests_total HTTP responses sent, by status code.\n"
                         "# TYPE bareflow_requests_total counter\n");
    for (const auto& slot : responses) {
        if (slot.status)
            ok = ok && out.appendf("bareflow_requests_total{code=\"%d\"} %llu\n", slot.status,
                static_cast<unsigned long long>(slot.count));
    }
    auto counter = [&](const char* name, const char* help, u64 value) {
        ok = ok && out.appendf("# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
            static_cast<unsigned long long>(value));
    };
    auto gauge = [&](const char* name, const char* help, double value) {
        ok = ok && out.appendf("# HELP %s %s\n# TYPE %s gauge\n%s %.3f\n", name, help, name, name, value);
    };
    counter("bareflow_completions_total", "Completions generated to their end.", completions);
    counter("bareflow_completions_cancelled_total", "Generations stopped because the client left or read too slowly.",
        cancelled);
    counter("bareflow_requests_rejected_total", "Requests answered 429 because the queue was full.", rejected);
    counter("bareflow_prompt_tokens_total", "Prompt tokens processed (BOS included).", prompt_tokens);
    counter("bareflow_completion_tokens_total", "Tokens generated.", completion_tokens);
    gauge("bareflow_tokens_per_second", "Generation rate of the last completion.", last_tok_per_s);
    gauge("bareflow_tokens_per_second_overall", "Tokens generated per second of generation, all completions.",
        generation_seconds > 0 ? static_cast<double>(completion_tokens) / generation_seconds : 0.0);
    gauge("bareflow_last_time_to_first_token_seconds", "Time to the first token of the last completion.",
        last_ttft_ms / 1000.0);
    ok = ok && out.appendf("# HELP bareflow_time_to_first_token_seconds Request start to first token.\n"
                           "# TYPE bareflow_time_to_first_token_seconds summary\n"
                           "bareflow_time_to_first_token_seconds_sum %.6f\n"
                           "bareflow_time_to_first_token_seconds_count %llu\n",
        ttft_ms_sum / 1000.0, static_cast<unsigned long long>(ttft_count));
    gauge("bareflow_queue_length", "Requests waiting for the engine.", queue_length);
    gauge("bareflow_connections", "Open client connections.", connections);
    backend.write_metrics(out);
    return ok && out.size() < out.max_bytes();
}

}
