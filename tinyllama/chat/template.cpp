// Chat templates: recognition, rendering and tokenizing (see template.h).
#include "tinyllama/chat/template.h"

#include <string.h>

namespace tllama::chat {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

// Each marker as the templates spell it (BOS and EOS are the vocabulary's own tokens).
constexpr const char* marker_text[marker_count] = { "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<|system|>",
    "<|user|>", "<|assistant|>", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>" };

// Caps on what one rendering may hold; far above any context the engine can run.
constexpr usize max_text_bytes = 256 * kl::MiB;

bool contains(const char* text, u64 length, const char* needle)
{
    const u64 n = strlen(needle);
    for (u64 i = 0; i + n <= length; ++i) {
        if (memcmp(text + i, needle, n) == 0)
            return true;
    }
    return false;
}

// The lowest id whose piece is exactly `text` (special tokens included), or -1.
i32 find_token(const Tokenizer& t, const char* text)
{
    const u32 length = static_cast<u32>(strlen(text));
    for (i32 id = 0; id < t.vocab_size; ++id) {
        if (t.vocab_length[id] == length && memcmp(t.vocab[id], text, length) == 0)
            return id;
    }
    return -1;
}

// Python's str.strip() whitespace, as far as ASCII goes (Unicode spaces are kept).
bool is_python_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

struct Span {
    const char* text;
    u64 length;
};

Span strip(const char* text, bool left)
{
    u64 length = strlen(text);
    while (left && length > 0 && is_python_space(*text))
        ++text, --length;
    while (length > 0 && is_python_space(text[length - 1]))
        --length;
    return { text, length };
}

constexpr Marker role_tags[] = { Marker::SystemTag, Marker::UserTag, Marker::AssistantTag };
constexpr const char* role_names[] = { "system", "user", "assistant" };

// Llama-2-chat: "<s>[INST] " + (content with the system block on the first one).strip()
// + " [/INST]" for the user, " " + content.strip() + " </s>" for the assistant.
void llama2_message(PromptBuilder& b, Role role, const char* content, const char* system)
{
    if (role == Role::Assistant) {
        const Span a = strip(content, true);
        b.text(" ");
        b.content(a.text, a.length);
        b.text(" ");
        b.marker(Marker::Eos);
        return;
    }
    if (role != Role::User)
        return;
    b.marker(Marker::Bos);
    b.marker(Marker::Inst);
    b.text(" ");
    if (system) {
        // The block starts with "<<SYS>>", so strip() only trims the user's text at the end
        // (and the "\n\n" before it when nothing of it is left).
        b.marker(Marker::Sys);
        b.text("\n");
        b.content(system, strlen(system));
        b.text("\n");
        b.marker(Marker::SysEnd);
        const Span u = strip(content, false);
        if (u.length > 0) {
            b.text("\n\n");
            b.content(u.text, u.length);
        }
    } else {
        const Span u = strip(content, true);
        b.content(u.text, u.length);
    }
    b.text(" ");
    b.marker(Marker::InstEnd);
}

}

const char* family_name(Family family)
{
    switch (family) {
    case Family::Zephyr: return "zephyr";
    case Family::ChatMl: return "chatml";
    case Family::Llama2: return "llama2";
    case Family::None: break;
    }
    return "none";
}

Family recognise(const char* text, u64 length, const char** why)
{
    *why = nullptr;
    if (length == 0) {
        *why = "the model has no chat template (tokenizer.chat_template)";
        return Family::None;
    }
    if (contains(text, length, "<|im_start|>"))
        return Family::ChatMl;
    if (contains(text, length, "[INST]")) {
        if (contains(text, length, "<<SYS>>"))
            return Family::Llama2;
        *why = "its chat template uses [INST] without <<SYS>> (Mistral-style), which BareFlow does not render";
        return Family::None;
    }
    if (contains(text, length, "<|user|>") && contains(text, length, "<|assistant|>") &&
        !contains(text, length, "<|end|>"))
        return Family::Zephyr;
    *why = "its chat template is none of Zephyr/TinyLlama (<|user|>), ChatML (<|im_start|>), Llama-2 ([INST] <<SYS>>)";
    return Family::None;
}

Template bind(Family family, const Tokenizer& tokenizer)
{
    Template t;
    t.family = family;
    t.ids[static_cast<u32>(Marker::Bos)] = tokenizer.bos_id;
    t.ids[static_cast<u32>(Marker::Eos)] = tokenizer.eos_id;
    for (u32 m = static_cast<u32>(Marker::ImStart); m < marker_count; ++m)
        t.ids[m] = family == Family::None ? -1 : find_token(tokenizer, marker_text[m]);
    if (family == Family::ChatMl)
        t.end_of_turn = t.ids[static_cast<u32>(Marker::ImEnd)];
    return t;
}

PromptBuilder::PromptBuilder(const Template& chat_template, const Tokenizer& tokenizer, bool keep_text)
    : m_template(chat_template)
    , m_tokenizer(tokenizer)
    , m_fragment(max_text_bytes)
    , m_ids(max_text_bytes)
    , m_shown(max_text_bytes)
    , m_keep_text(keep_text)
{
}

void PromptBuilder::show(const char* bytes, usize length)
{
    if (m_keep_text && !m_shown.append(bytes, length))
        m_failed = true;
}

void PromptBuilder::add_id(i32 id)
{
    if (!m_ids.append(reinterpret_cast<const char*>(&id), sizeof(id)))
        m_failed = true;
}

void PromptBuilder::marker(Marker m)
{
    const i32 id = m_template.ids[static_cast<u32>(m)];
    if (id < 0)
        return text(marker_text[static_cast<u32>(m)]);
    token(id);
}

void PromptBuilder::text(const char* literal) { content(literal, strlen(literal)); }

void PromptBuilder::content(const char* text, u64 length)
{
    if (!m_fragment.append(text, length))
        m_failed = true;
    show(text, length);
}

void PromptBuilder::token(i32 id)
{
    flush();
    add_id(id);
    const TokenPiece piece { m_tokenizer.vocab[id], m_tokenizer.vocab_length[id] };
    show(reinterpret_cast<const char*>(piece.bytes), piece.length);
}

// The fragment since the last token, encoded with the space prefix (encode()'s dummy " ").
void PromptBuilder::flush()
{
    const usize length = m_fragment.size();
    if (length == 0 || m_failed)
        return;
    const u64 capacity = encode_capacity(length);
    if (!m_ids.reserve(capacity * sizeof(i32))) {
        m_failed = true;
        return;
    }
    auto count = encode(m_tokenizer, m_fragment.data(), length, false, false, reinterpret_cast<i32*>(m_ids.tail()),
        capacity);
    if (count.is_error())
        m_failed = true;
    else
        m_ids.commit(count.value() * sizeof(i32));
    m_fragment.clear();
}

ErrorOr<void> PromptBuilder::finish()
{
    flush();
    if (m_failed)
        return Error::make(ErrorCode::OutOfMemory, "chat: no memory left to render and tokenize the conversation");
    return {};
}

void begin(PromptBuilder& b)
{
    const Tokenizer& t = b.tokenizer();
    if (t.add_bos && b.chat_template().family != Family::Llama2)
        b.token(t.bos_id);
}

void message(PromptBuilder& b, Role role, const char* content, const char* system)
{
    const u32 r = static_cast<u32>(role);
    switch (b.chat_template().family) {
    case Family::None:
        b.content(content, strlen(content));
        return;
    case Family::Zephyr:
        b.marker(role_tags[r]);
        b.text("\n");
        b.content(content, strlen(content));
        b.marker(Marker::Eos);
        b.text("\n");
        return;
    case Family::ChatMl:
        b.marker(Marker::ImStart);
        b.text(role_names[r]);
        b.text("\n");
        b.content(content, strlen(content));
        b.marker(Marker::ImEnd);
        b.text("\n");
        return;
    case Family::Llama2:
        llama2_message(b, role, content, system);
        return;
    }
}

void generation_prompt(PromptBuilder& b)
{
    const Family family = b.chat_template().family;
    if (family == Family::Zephyr) {
        b.marker(Marker::AssistantTag);
        b.text("\n");
    } else if (family == Family::ChatMl) {
        b.marker(Marker::ImStart);
        b.text("assistant\n");
    }
}

void reply_end(PromptBuilder& b, bool ended_by_model)
{
    // Llama-2 renders " </s>" after the reply; the space is left out here, since the reply's
    // ids are kept as sampled and a lone space after them would be a token of its own.
    const Family family = b.chat_template().family;
    if (family == Family::None)
        return;
    if (!ended_by_model)
        b.marker(family == Family::ChatMl ? Marker::ImEnd : Marker::Eos);
    if (family != Family::Llama2)
        b.text("\n");
}

ErrorOr<void> render_messages(PromptBuilder& b, const Message* messages, u32 count)
{
    const Family family = b.chat_template().family;
    const u32 ids_before = b.count();
    begin(b);
    if (family == Family::Llama2) {
        // Llama-2's template: a first system message goes into the first user message, and
        // the rest must alternate user, assistant, user, ...
        const bool has_system = count > 0 && messages[0].role == Role::System;
        for (u32 i = has_system ? 1 : 0, index = 0; i < count; ++i, ++index) {
            if ((messages[i].role == Role::User) != (index % 2 == 0))
                return Error::make(ErrorCode::InvalidArgument,
                    "Conversation roles must alternate user/assistant/user/assistant/... (message %u is %s)", i,
                    role_names[static_cast<u32>(messages[i].role)]);
            message(b, messages[i].role, messages[i].content, index == 0 && has_system ? messages[0].content : nullptr);
        }
    } else {
        for (u32 i = 0; i < count; ++i)
            message(b, messages[i].role, messages[i].content);
        if (family == Family::ChatMl || (family == Family::Zephyr && count > 0))
            generation_prompt(b);
    }
    TRY(b.finish());
    if (b.count() == ids_before)
        b.token(b.tokenizer().bos_id);  // nothing rendered: the first pass still needs a token
    return {};
}

}
