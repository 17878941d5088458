// The conversation in the KV cache (see conversation.h).
#include "tinyllama/chat/conversation.h"

#include <string.h>

#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/time/tsc.h"

namespace tllama::chat {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

// The turns' and the system prompt's text: far more than any context can hold.
constexpr usize max_text_bytes = 64 * kl::MiB;

}

Conversation::Conversation()
    : m_texts(max_text_bytes)
    , m_system(max_text_bytes)
    , m_rendered(max_text_bytes)
{
}

Conversation::~Conversation()
{
    if (m_block)
        kl::mem::release(m_block);
}

ErrorOr<void> Conversation::init(Transformer& t, const Tokenizer& tokenizer, Sampler& sampler, Family family)
{
    m_t = &t;
    m_tokenizer = &tokenizer;
    m_sampler = &sampler;
    m_context = static_cast<u32>(t.config.seq_len);
    m_template = bind(family, tokenizer);
    const u64 bytes = static_cast<u64>(m_context) * sizeof(i32) + max_turns * sizeof(Turn);
    m_block = TRY(kl::mem::allocate(bytes, 16, "the conversation's history"));
    m_turns = static_cast<Turn*>(m_block);
    m_history = reinterpret_cast<i32*>(m_turns + max_turns);
    return {};
}

ErrorOr<void> Conversation::set_system(const char* text)
{
    m_system.clear();
    if (text[0] && (!m_system.append(text) || !m_system.append_char('\0')))
        return Error::make(ErrorCode::OutOfMemory, "chat: no memory left for the system prompt");
    reset();
    return {};
}

void Conversation::reset()
{
    m_used = 0;
    m_turn_count = 0;
    m_dropped = 0;
    m_rendered_from = 0;
    m_texts.clear();
    m_rendered.clear();
}

u32 Conversation::reply_room(u32 max_reply) const
{
    const u32 quarter = kl::max(m_context / 4, 1u);
    return max_reply && max_reply < quarter ? max_reply : quarter;
}

// What a turn adds: the conversation's start (BOS, the system message) or the end of the
// last reply, then the user's message and the generation prompt. Llama-2 puts the system
// prompt inside the first user message.
void Conversation::render_turn(PromptBuilder& b, const char* text, const Turn* previous) const
{
    const char* system = m_system.empty() ? nullptr : m_system.data();
    const bool llama2 = m_template.family == Family::Llama2;
    if (!previous) {
        begin(b);
        if (system && !llama2)
            message(b, Role::System, system);
    } else {
        reply_end(b, previous->ended);
    }
    message(b, Role::User, text, !previous && llama2 ? system : nullptr);
    generation_prompt(b);
}

// Writes ids into the history; the cache stays valid up to the first position that changes.
void Conversation::write_ids(u32 at, const i32* ids, u32 count)
{
    for (u32 i = 0; i < count; ++i) {
        if (at + i < m_cached && m_history[at + i] != ids[i])
            m_cached = at + i;
        m_history[at + i] = ids[i];
    }
}

// Keeps the user's text and opens its turn, whose reply will start at `reply_at`.
ErrorOr<void> Conversation::remember(const char* text, u32 reply_at)
{
    const usize offset = m_texts.size();
    if (!m_texts.append(text) || !m_texts.append_char('\0')) {
        m_texts.truncate(offset);
        return Error::make(ErrorCode::OutOfMemory, "chat: no memory left for the conversation's text");
    }
    m_turns[m_turn_count++] = { static_cast<u32>(offset), reply_at, reply_at, false };
    return {};
}

ErrorOr<void> Conversation::add_user_turn(const char* text, u32 max_reply)
{
    m_turn_started = kl::time::rdtsc_begin();
    m_dropped = 0;
    const u32 limit = m_context - reply_room(max_reply);
    PromptBuilder b(m_template, *m_tokenizer, m_keep_text);
    render_turn(b, text, m_turn_count ? &m_turns[m_turn_count - 1] : nullptr);
    TRY(b.finish());
    if (m_turn_count < max_turns && m_used + b.count() <= limit) {
        TRY(remember(text, m_used + b.count()));
        m_rendered_from = m_used;
        write_ids(m_used, b.ids(), b.count());
        m_used += b.count();
        m_rendered.clear();
        m_rendered.append(b.shown());
        return {};
    }
    return drop_and_add(text, limit, m_turn_count ? 0 : b.count());
}

// The turns from `first_kept` on, rendered as if the conversation began with them, and
// then the new turn; kept[i] receives turn first_kept + i's reply positions.
ErrorOr<u32> Conversation::render_kept(PromptBuilder& b, u32 first_kept, const char* text, Turn* kept) const
{
    const Turn* previous = nullptr;
    for (u32 i = first_kept; i < m_turn_count; ++i) {
        const Turn& turn = m_turns[i];
        render_turn(b, turn_text(turn), previous);
        Turn& moved = kept[i - first_kept];
        moved = turn;
        moved.reply_begin = b.position();
        for (u32 p = turn.reply_begin; p < turn.reply_end; ++p)
            b.token(m_history[p]);
        moved.reply_end = b.position();
        previous = &turn;
    }
    render_turn(b, text, previous);
    TRY(b.finish());
    return b.count();
}

// The context is full: drops the fewest oldest turns that make room (the system prompt
// stays), renders the rest again and adds the new turn. `alone`: the new turn's size when
// there are no turns to drop.
ErrorOr<void> Conversation::drop_and_add(const char* text, u32 limit, u32 alone)
{
    Turn kept[max_turns];
    for (u32 first = 1; first <= m_turn_count; ++first) {
        PromptBuilder b(m_template, *m_tokenizer, m_keep_text);
        const u32 count = TRY(render_kept(b, first, text, kept));
        alone = count;
        if (count > limit)
            continue;
        // Commit: the dropped turns' text goes, the kept turns move to their new positions.
        const usize dropped_bytes = first < m_turn_count ? m_turns[first].text_offset : m_texts.size();
        m_texts.consume(dropped_bytes);
        m_turn_count -= first;
        for (u32 i = 0; i < m_turn_count; ++i) {
            m_turns[i] = kept[i];
            m_turns[i].text_offset -= static_cast<u32>(dropped_bytes);
        }
        write_ids(0, b.ids(), count);
        m_used = count;
        m_rendered_from = 0;
        m_dropped = first;
        m_rendered.clear();
        m_rendered.append(b.shown());
        auto remembered = remember(text, m_used);
        if (remembered.is_error())
            reset();
        return remembered;
    }
    return Error::make(ErrorCode::PromptTooLong,
        "chat: the turn is %u tokens (with the system prompt) and a reply needs room for %u more, but the context "
        "is %u tokens: shorten the message or the system prompt", alone, m_context - limit, m_context);
}

ErrorOr<GenerateStats> Conversation::reply_to_rendered(const i32* ids, u32 count, u32 max_reply, u64 started,
    TextSink& sink)
{
    VERIFY(count > 0 && count < m_context);
    reset();
    write_ids(0, ids, count);
    m_used = count;
    m_turn_started = started;
    return reply(max_reply, sink);
}

ErrorOr<GenerateStats> Conversation::reply(u32 max_reply, TextSink& sink)
{
    VERIFY(m_used > 0 && m_used < m_context);
    const u32 start = kl::min(m_cached, m_used - 1);
    GenerateRun run {};
    run.tokens = m_history + start;
    run.count = m_used - start;
    run.start_pos = static_cast<i32>(start);
    const u64 last = static_cast<u64>(m_used) - 1 + (max_reply ? max_reply : m_context);
    run.end_pos = static_cast<i32>(kl::min<u64>(m_context - 1, last));
    run.end_of_turn = m_template.end_of_turn;
    run.sampled = m_history + m_used;
    run.started = m_turn_started;
    m_turn_started = 0;
    GenerateStats stats = TRY(run_generation(*m_t, *m_tokenizer, *m_sampler, run, sink));
    m_used += stats.sampled;
    m_cached = static_cast<u32>(stats.cached_end);
    if (m_turn_count) {
        Turn& turn = m_turns[m_turn_count - 1];
        turn.reply_end = m_used;
        turn.ended = stats.ended;
    }
    stats.chat = true;
    stats.context_used = m_used;
    stats.context = m_context;
    stats.dropped_turns = m_dropped;
    return stats;
}

}
