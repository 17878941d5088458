// Chat templates without Jinja: the model's tokenizer.chat_template is recognised by its
// markers, the way llama.cpp does it, as one of three families, and each family renders
// system, user and assistant messages exactly as Hugging Face's Jinja renders the model's
// own template (trim_blocks, lstrip_blocks):
//
//   Zephyr (TinyLlama-1.1B-Chat v1.0)  <|system|>\nS</s>\n<|user|>\nU</s>\n<|assistant|>\n
//   ChatML                             <|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n
//                                      <|im_start|>assistant\n
//   Llama-2-chat                       <s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]  (no generation prompt)
//
// An assistant message is the generation prompt's continuation plus its end: Zephyr
// "A</s>\n", ChatML "A<|im_end|>\n", Llama-2 " A </s>" (Llama-2 strips its content). With
// no template, or one of another family, the "chat" is plain completion: the messages'
// text one after the other.
//
// Tokenizing follows llama.cpp's SentencePiece path: the rendered text is cut at the
// template's markers that are single tokens of the vocabulary (BOS and EOS always; ChatML's
// <|im_start|> when the vocabulary has it, ...), each marker becomes its id, and each text
// fragment between them is encoded with the SentencePiece space prefix (llama.cpp's
// add_space_prefix && is_prev_special: every fragment follows a marker or the start).
// Message content is always plain text: a "</s>" typed by a user stays text, since only
// the template's own markers become special tokens.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/text/text_buffer.h"
#include "tinyllama/tokenizer.h"

namespace tllama::chat {

enum class Family : u8 { None, Zephyr, ChatMl, Llama2 };

enum class Role : u8 { System, User, Assistant };

// "none", "zephyr", "chatml", "llama2".
const char* family_name(Family family);

// The family of a template's Jinja source; for None, `why` says why (no template, or which
// markers were missing), as a phrase: "the model has no chat template".
Family recognise(const char* text, u64 length, const char** why);

enum class Marker : u8 { Bos, Eos, ImStart, ImEnd, SystemTag, UserTag, AssistantTag, Inst, InstEnd, Sys, SysEnd };
constexpr u32 marker_count = 11;

// A family bound to a vocabulary: each marker's id, or -1 where the vocabulary spells it
// as text.
struct Template {
    Family family = Family::None;
    i32 ids[marker_count];
    i32 end_of_turn = -1;  // besides EOS, the id that ends a reply (ChatML's <|im_end|>)
};

Template bind(Family family, const Tokenizer& tokenizer);

struct Message {
    Role role;
    const char* content;  // NUL-terminated
};

// Renders and tokenizes at once. The ids and the shown text (the rendering with every
// token's text, special ones as their pieces) grow on the heap; the first failure (out of
// memory) sticks and finish() reports it.
class PromptBuilder {
public:
    PromptBuilder(const Template& chat_template, const Tokenizer& tokenizer, bool keep_text = false);

    // The parts of a rendering, in order.
    void marker(Marker m);
    void text(const char* literal);                // template text (no markers in it)
    void content(const char* text, u64 length);    // a message's content: plain text
    void token(i32 id);                            // an id as it is (a reply's sampled tokens)

    // The ids so far, the pending text encoded first.
    u32 position()
    {
        flush();
        return count();
    }
    // Encodes the pending text; the error of any step before.
    kl::ErrorOr<void> finish();
    const i32* ids() const { return reinterpret_cast<const i32*>(m_ids.data()); }
    u32 count() const { return static_cast<u32>(m_ids.size() / sizeof(i32)); }
    kl::StringView shown() const { return m_shown.view(); }
    const Template& chat_template() const { return m_template; }
    const Tokenizer& tokenizer() const { return m_tokenizer; }

private:
    void flush();
    void add_id(i32 id);
    void show(const char* bytes, usize length);

    const Template& m_template;
    const Tokenizer& m_tokenizer;
    kl::TextBuffer m_fragment;  // text since the last marker that is a token
    kl::TextBuffer m_ids;       // i32 ids, back to back
    kl::TextBuffer m_shown;
    bool m_keep_text;
    bool m_failed = false;
};

// The pieces of a conversation, each as the template renders it:
// - begin(): BOS when the tokenizer adds it and the template does not start with it;
// - message(): one message (Llama-2: the system text goes into the first user message,
//   given as `system`; a Llama-2 system message renders nothing by itself);
// - generation_prompt(): what opens the assistant's reply (Zephyr <|assistant|>\n,
//   ChatML <|im_start|>assistant\n, Llama-2 nothing);
// - reply_end(): what follows a reply's text; when the model ended the reply itself, the
//   token it ended with stands for the first marker and only the rest follows.
void begin(PromptBuilder& b);
void message(PromptBuilder& b, Role role, const char* content, const char* system = nullptr);
void generation_prompt(PromptBuilder& b);
void reply_end(PromptBuilder& b, bool ended_by_model);

// A whole message list (the HTTP API's /v1/chat/completions) with the generation prompt, as
// the Jinja template renders it with add_generation_prompt, BOS first by begin(). Llama-2's
// template refuses roles that do not alternate user/assistant (after an optional first
// system message): InvalidArgument with its own words.
kl::ErrorOr<void> render_messages(PromptBuilder& b, const Message* messages, u32 count);

}
