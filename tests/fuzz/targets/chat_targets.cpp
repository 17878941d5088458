// Fuzz target for the chat templates (tinyllama/chat/template.h): recognising a template's
// text from a GGUF file, and rendering and tokenizing messages an HTTP client sent, with
// tokenizer.bin's vocabulary. Properties: a family comes with no reason and None with one;
// only Llama-2 refuses a message list (InvalidArgument); every id is in the vocabulary; and
// message content never turns into special tokens: BOS and EOS appear exactly as often as
// the family's template puts them there.
#include <string.h>

#include <string>
#include <vector>

#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"
#include "tinyllama/chat/template.h"

using namespace tllama;
using chat::Family;
using chat::Role;

namespace {

struct Vocabulary {
    std::vector<u8> file;
    Tokenizer tokenizer {};
    std::string error;
};

const Vocabulary& vocabulary()
{
    static Vocabulary v;
    static bool loaded = false;
    if (loaded)
        return v;
    loaded = true;
    const std::string path = fuzz_support::find_model_file("tokenizer.bin");
    if (path.empty() || !fuzz_support::read_whole_file(path, v.file)) {
        v.error = "tokenizer.bin not found or unreadable (looked in ./models, $BAREFLOW_MODEL_PATH, ../shared/models)";
        return v;
    }
    auto built = build_tokenizer(v.tokenizer, v.file.data(), v.file.size(), 32000);
    if (built.is_error())
        v.error = path + ": " + built.error().message();
    return v;
}

// How often the family's rendering of `messages` holds BOS and EOS.
void expected_specials(Family family, const std::vector<chat::Message>& messages, bool add_bos, u32& bos, u32& eos)
{
    bos = family == Family::Llama2 ? 0 : add_bos;
    eos = 0;
    for (const chat::Message& m : messages) {
        if (family == Family::Zephyr)
            ++eos;
        else if (family == Family::Llama2)
            (m.role == Role::User ? bos : eos) += m.role != Role::System;
    }
}

}

int fuzz_chat(const u8* data, size_t size)
{
    const Vocabulary& v = vocabulary();
    if (!v.error.empty())
        fuzz_fail("fuzz_chat: %s", v.error.c_str());
    // The input: a template's text, then '\0'-separated messages, each a role byte and content.
    std::vector<std::string> parts(1);
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == 0)
            parts.emplace_back();
        else
            parts.back().push_back(static_cast<char>(data[i]));
    }
    const char* why = nullptr;
    const Family family = chat::recognise(parts[0].data(), parts[0].size(), &why);
    FUZZ_CHECK((family == Family::None) == (why != nullptr), "family %s with reason %s", chat::family_name(family),
        why ? why : "(none)");

    std::vector<chat::Message> messages;
    for (size_t i = 1; i < parts.size() && messages.size() < 64; ++i) {
        const Role role = parts[i].empty() ? Role::User : static_cast<Role>(static_cast<u8>(parts[i][0]) % 3);
        messages.push_back({ role, parts[i].empty() ? "" : parts[i].c_str() + 1 });
    }
    const chat::Template t = chat::bind(family, v.tokenizer);
    chat::PromptBuilder b(t, v.tokenizer, true);
    auto rendered = chat::render_messages(b, messages.data(), static_cast<u32>(messages.size()));
    if (rendered.is_error()) {
        FUZZ_CHECK(family == Family::Llama2 && rendered.error().code() == kl::ErrorCode::InvalidArgument,
            "%s refused the messages: %s", chat::family_name(family), rendered.error().message());
        return 0;
    }
    u32 bos = 0, eos = 0, want_bos = 0, want_eos = 0;
    for (u32 i = 0; i < b.count(); ++i) {
        const i32 id = b.ids()[i];
        FUZZ_CHECK(id >= 0 && id < v.tokenizer.vocab_size, "id %d outside the vocabulary", id);
        bos += id == v.tokenizer.bos_id;
        eos += id == v.tokenizer.eos_id;
    }
    expected_specials(family, messages, v.tokenizer.add_bos, want_bos, want_eos);
    if (want_bos == 0 && want_eos == 0 && b.count() == 1 && bos == 1)
        want_bos = 1;  // nothing rendered: BOS alone, so that the first pass has a token
    FUZZ_CHECK(bos == want_bos && eos == want_eos, "%s: %u BOS and %u EOS in the ids, expected %u and %u",
        chat::family_name(family), bos, eos, want_bos, want_eos);
    return 0;
}
