// CompletionText: the completion as it grows piece by piece, cut at the first stop
// sequence, with the part that is safe to stream right now.
//
// Streaming must not send text that a stop sequence could still swallow ("The e" while the
// stop is "The end"), nor half of a UTF-8 character (a model emits byte tokens one at a
// time, and a JSON string must stay valid UTF-8). So ready() holds back the longest tail
// that begins a stop sequence and an unfinished character at the end; finish() releases
// what is left once the generation is over. The whole text is kept for the non-streamed
// answer, up to a cap (max_completion_bytes), after which the completion ends as if
// max_tokens had been reached.
#pragma once

#include "kernel_lib/text/text_buffer.h"
#include "tinyllama/serve/backend.h"

namespace tllama::serve {

constexpr usize max_completion_bytes = 128 * 1024;

class CompletionText {
public:
    CompletionText() : m_text(max_completion_bytes) {}

    // Empties it and takes the stop sequences of `request` (which must outlive it).
    void reset(const CompletionRequest& request);
    // Adds the next piece. Returns false once the text has ended: a stop sequence matched
    // (the text now ends just before it) or the cap was reached.
    bool add(const char* bytes, usize length);
    // The generation is over: everything held back belongs to the text.
    void finish() { m_finished = true; }

    // Text not yet taken that can be sent now; take() marks it sent.
    kl::StringView ready() const;
    void take(usize length) { m_taken += length; }

    kl::StringView text() const { return m_text.view(); }
    bool stop_matched() const { return m_stop_matched; }
    bool full() const { return m_full; }

private:
    // The length of the longest tail of the text that is a proper prefix of a stop sequence.
    usize stop_prefix_tail() const;

    kl::TextBuffer m_text;
    const char* const* m_stops = nullptr;
    u32 m_stop_count = 0;
    usize m_taken = 0;
    bool m_stop_matched = false;
    bool m_full = false;
    bool m_finished = false;
};

}
