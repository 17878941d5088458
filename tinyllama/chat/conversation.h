// The conversation: one chat, held in the KV cache, used by the console, MODE=chat and
// bareflow-host --chat through the engine (Engine::conversation()).
//
// The history is the ids at positions 0..used: BOS, the system message, then per turn the
// user's message and the generation prompt as the template renders them
// (tinyllama/chat/template.h), followed by the reply's ids exactly as they were sampled,
// the token that ended the reply included. A new turn renders only what follows (the end
// of the last reply, the user's message, the generation prompt), so the history is always
// the concatenation of what each turn added, and a reply prefills only the positions the
// cache does not hold yet: its own turn (batched prefill), plus the last reply's final
// sampled token.
//
// `cached` counts the leading positions whose keys and values in the cache belong to the
// history. Writing ids lowers it to the first position that changes, so /reset or a new
// system prompt keep what still matches (the system prompt's positions), an HTTP chat
// request keeps what matches the previous one's, and a story told in between
// (forget_cache) makes the next turn recompute the whole conversation.
//
// When a turn does not fit with room for a reply (max_reply tokens, at most a quarter of
// the context), the oldest turns are dropped, the system prompt kept, and the kept turns
// are rendered again from their text and their replies' ids: the prefill then recomputes
// everything after the system prompt. A turn that does not fit even alone is refused
// (PromptTooLong).
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/text/text_buffer.h"
#include "tinyllama/chat/template.h"
#include "tinyllama/generate.h"
#include "tinyllama/sampler.h"
#include "tinyllama/transformer.h"

namespace tllama::chat {

class Conversation {
public:
    Conversation();
    ~Conversation();
    Conversation(const Conversation&) = delete;
    Conversation& operator=(const Conversation&) = delete;

    // Binds the conversation to the engine's parts (which outlive it) and the template's
    // family. Errors: OutOfMemory.
    kl::ErrorOr<void> init(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler, Family family);

    const Template& chat_template() const { return m_template; }

    // The system prompt ("" for none). Setting it starts a new conversation.
    kl::ErrorOr<void> set_system(const char* text);
    const char* system() const { return m_system.empty() ? "" : m_system.data(); }
    // A new conversation; the system prompt stays.
    void reset();
    // The KV cache now holds something else (a story): the next reply recomputes everything.
    void forget_cache() { m_cached = 0; }

    // Renders and tokenizes the user's turn after the conversation so far, dropping the
    // oldest turns when it does not fit with room for a reply of max_reply tokens (0: as
    // many as the context holds). Errors: PromptTooLong, OutOfMemory.
    kl::ErrorOr<void> add_user_turn(const char* text, u32 max_reply);
    // The reply to the turn just added, streamed to `sink`: the positions the cache lacks
    // are prefilled, then up to max_reply tokens (0: to the end of the context) sampled.
    kl::ErrorOr<GenerateStats> reply(u32 max_reply, TextSink& sink);
    // A whole conversation rendered elsewhere (the HTTP API's messages, BOS first, ending in
    // the generation prompt) replaces the history and is replied to as above. The cache is
    // kept up to the first id that differs, so a request that repeats the previous one's
    // messages recomputes only what follows them. The turns are forgotten: the console's
    // next turn starts a new conversation. `started`: the request's TSC (0: now).
    kl::ErrorOr<GenerateStats> reply_to_rendered(const i32* ids, u32 count, u32 max_reply, u64 started, TextSink& sink);

    u32 used() const { return m_used; }
    u32 cached() const { return m_cached; }
    u32 context() const { return m_context; }
    u32 turns() const { return m_turn_count; }
    const i32* history() const { return m_history; }
    // The last add_user_turn: how many old turns it dropped, and the history positions its
    // rendering wrote (from rendered_from() to used()).
    u32 dropped() const { return m_dropped; }
    u32 rendered_from() const { return m_rendered_from; }
    // With keep_text on, the text of that rendering, special tokens as their pieces
    // (bareflow-host --verbose-prompt).
    void keep_text(bool on) { m_keep_text = on; }
    kl::StringView rendered_text() const { return m_rendered.view(); }

private:
    struct Turn {
        u32 text_offset;   // the user's text in m_texts (NUL-terminated)
        u32 reply_begin;   // the reply's ids in the history
        u32 reply_end;
        bool ended;        // the model ended the reply (its last id is the ending token)
    };
    static constexpr u32 max_turns = 128;

    const char* turn_text(const Turn& turn) const { return m_texts.data() + turn.text_offset; }
    void render_turn(PromptBuilder& b, const char* text, const Turn* previous) const;
    kl::ErrorOr<u32> render_kept(PromptBuilder& b, u32 first_kept, const char* text, Turn* kept) const;
    kl::ErrorOr<void> drop_and_add(const char* text, u32 limit, u32 alone);
    kl::ErrorOr<void> remember(const char* text, u32 reply_at);
    void write_ids(u32 at, const i32* ids, u32 count);
    u32 reply_room(u32 max_reply) const;

    Transformer* m_t = nullptr;
    const Tokenizer* m_tokenizer = nullptr;
    Sampler* m_sampler = nullptr;
    Template m_template {};
    void* m_block = nullptr;
    i32* m_history = nullptr;      // [context]
    Turn* m_turns = nullptr;       // [max_turns], oldest first
    u32 m_turn_count = 0;
    u32 m_used = 0;
    u32 m_cached = 0;
    u32 m_context = 0;
    u32 m_dropped = 0;
    u32 m_rendered_from = 0;
    u64 m_turn_started = 0;
    bool m_keep_text = false;
    kl::TextBuffer m_texts;
    kl::TextBuffer m_system;
    kl::TextBuffer m_rendered;
};

}
