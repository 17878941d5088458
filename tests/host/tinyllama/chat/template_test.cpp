// Chat templates (tinyllama/chat/template.h): recognition by markers, and each family's
// rendering and tokens against hand-written expectations. The vocabulary is Llama-2's
// (tokenizer.bin, which TinyLlama-1.1B-Chat uses too) as a GGUF file holds it: <s> and
// </s> control tokens, and for ChatML two added control tokens, <|im_start|> 32000 and
// <|im_end|> 32001. The ids below were worked out by hand from the pieces (llama.cpp's SPM
// path: a text fragment after a special token starts with the SentencePiece space, so
// "</s>\n<|user|>" is 2, 29871 "▁", 13 "<0x0A>", 29966 "<", ...).
#include <catch2/catch.hpp>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/host/tinyllama/gguf_fixtures.h"
#include "tests/host/tinyllama/model_fixtures.h"
#include "tinyllama/chat/template.h"
#include "tinyllama/gguf/tokenizer_gguf.h"
#include "tinyllama/host/gguf_model.h"

using namespace tllama;
using namespace tllama::test;
using chat::Family;
using chat::Role;

namespace {

std::vector<u8> vocabulary_gguf(const std::vector<std::string>& added)
{
    tools::GgufWriter w;
    w.add_string("general.architecture", "llama");
    const std::vector<u8> bin = read_file(model_path("tokenizer.bin"));
    REQUIRE_FALSE(tools::add_tokenizer(w, bin, 32000 + static_cast<i32>(added.size()), added).is_error());
    auto bytes = w.to_bytes([](u64, tools::ChunkWriter&) -> kl::ErrorOr<void> { return {}; });
    REQUIRE_FALSE(bytes.is_error());
    return bytes.release_value();
}

// The Llama-2 vocabulary from a GGUF, with `added` control tokens after id 31999.
struct Vocabulary {
    ParsedGguf gguf;
    Tokenizer tokenizer {};

    explicit Vocabulary(const std::vector<std::string>& added = {}) : gguf(vocabulary_gguf(added))
    {
        auto built = gguf::build_tokenizer_gguf(tokenizer, gguf.file, 32000 + static_cast<i32>(added.size()));
        INFO(error_text(built));
        REQUIRE_FALSE(built.is_error());
    }
    ~Vocabulary() { free_tokenizer(tokenizer); }
};

Vocabulary& llama_vocabulary()
{
    static Vocabulary v;
    return v;
}

Vocabulary& chatml_vocabulary()
{
    static Vocabulary v({ "<|im_start|>", "<|im_end|>" });
    return v;
}

struct Rendered {
    std::string text;
    std::vector<i32> ids;
};

Rendered render(Family family, const Tokenizer& tokenizer, const std::vector<chat::Message>& messages)
{
    const chat::Template t = chat::bind(family, tokenizer);
    chat::PromptBuilder b(t, tokenizer, true);
    auto done = chat::render_messages(b, messages.data(), static_cast<u32>(messages.size()));
    INFO(error_text(done));
    REQUIRE_FALSE(done.is_error());
    return { std::string(b.shown().data, b.shown().length), std::vector<i32>(b.ids(), b.ids() + b.count()) };
}

Family recognised(const char* text)
{
    const char* why = nullptr;
    const Family f = chat::recognise(text, strlen(text), &why);
    CHECK((f == Family::None) == (why != nullptr));
    return f;
}

const std::vector<chat::Message> system_user = { { Role::System, "You are a friendly chatbot." },
    { Role::User, "Hello!" } };
const std::vector<chat::Message> three_turns = { { Role::User, "Hello!" }, { Role::Assistant, "Hi there" },
    { Role::User, "How are you?" } };

}

TEST_CASE("chat templates are recognised by their markers", "[chat]")
{
    CHECK(recognised(tools::find_chat_template("tinyllama")) == Family::Zephyr);
    CHECK(recognised(tools::find_chat_template("chatml")) == Family::ChatMl);
    CHECK(recognised(tools::find_chat_template("llama2")) == Family::Llama2);
    const char* why = nullptr;
    CHECK(chat::recognise("", 0, &why) == Family::None);
    CHECK(std::string(why).find("no chat template") != std::string::npos);
    // Mistral's [INST] without <<SYS>>, Phi-3's <|user|> ... <|end|>, Alpaca: not ours.
    CHECK(recognised("{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}") == Family::None);
    CHECK(recognised("{% for m in messages %}<|user|>\n{{ m['content'] }}<|end|>\n<|assistant|>\n{% endfor %}") ==
        Family::None);
    CHECK(recognised("### Instruction:\n{{ messages[0]['content'] }}\n### Response:") == Family::None);
    CHECK(std::string(chat::family_name(Family::Zephyr)) == "zephyr");
    CHECK(std::string(chat::family_name(Family::None)) == "none");
}

TEST_CASE("chat templates: markers are tokens only where the vocabulary has them", "[chat]")
{
    const chat::Template plain = chat::bind(Family::ChatMl, llama_vocabulary().tokenizer);
    CHECK(plain.ids[static_cast<u32>(chat::Marker::ImStart)] == -1);
    CHECK(plain.ids[static_cast<u32>(chat::Marker::Eos)] == 2);
    CHECK(plain.end_of_turn == -1);
    const chat::Template chatml = chat::bind(Family::ChatMl, chatml_vocabulary().tokenizer);
    CHECK(chatml.ids[static_cast<u32>(chat::Marker::ImStart)] == 32000);
    CHECK(chatml.ids[static_cast<u32>(chat::Marker::ImEnd)] == 32001);
    CHECK(chatml.end_of_turn == 32001);
    const chat::Template zephyr = chat::bind(Family::Zephyr, llama_vocabulary().tokenizer);
    CHECK(zephyr.ids[static_cast<u32>(chat::Marker::UserTag)] == -1);
    CHECK(zephyr.end_of_turn == -1);
}

TEST_CASE("chat template Zephyr/TinyLlama: text and ids, with a system prompt", "[chat]")
{
    const Rendered r = render(Family::Zephyr, llama_vocabulary().tokenizer, system_user);
    CHECK(r.text == "<s><|system|>\nYou are a friendly chatbot.</s>\n<|user|>\nHello!</s>\n<|assistant|>\n");
    const std::vector<i32> expected = { 1,
        529, 29989, 5205, 29989, 29958, 13, 3492, 526, 263, 19780, 13563, 7451, 29889,  // ▁< | system | > \n You ...
        2,
        29871, 13, 29966, 29989, 1792, 29989, 29958, 13, 10994, 29991,                  // ▁ \n < | user | > \n Hello !
        2,
        29871, 13, 29966, 29989, 465, 22137, 29989, 29958, 13 };                        // ▁ \n < | ass istant | > \n
    CHECK(r.ids == expected);
}

TEST_CASE("chat template Zephyr/TinyLlama: several turns without a system prompt", "[chat]")
{
    const Rendered r = render(Family::Zephyr, llama_vocabulary().tokenizer, three_turns);
    CHECK(r.text ==
        "<s><|user|>\nHello!</s>\n<|assistant|>\nHi there</s>\n<|user|>\nHow are you?</s>\n<|assistant|>\n");
    const std::vector<i32> expected = { 1, 529, 29989, 1792, 29989, 29958, 13, 10994, 29991, 2,
        29871, 13, 29966, 29989, 465, 22137, 29989, 29958, 13, 18567, 727, 2,              // ... \n Hi ▁there
        29871, 13, 29966, 29989, 1792, 29989, 29958, 13, 5328, 526, 366, 29973, 2,       // ... \n How ▁are ▁you ?
        29871, 13, 29966, 29989, 465, 22137, 29989, 29958, 13 };
    CHECK(r.ids == expected);
}

TEST_CASE("chat template ChatML: <|im_start|> and <|im_end|> as their ids", "[chat]")
{
    std::vector<chat::Message> messages = { { Role::System, "You are a friendly chatbot." } };
    messages.insert(messages.end(), three_turns.begin(), three_turns.end());
    const Rendered r = render(Family::ChatMl, chatml_vocabulary().tokenizer, messages);
    CHECK(r.text ==
        "<s><|im_start|>system\nYou are a friendly chatbot.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n"
        "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n");
    const std::vector<i32> expected = { 1,
        32000, 1788, 13, 3492, 526, 263, 19780, 13563, 7451, 29889, 32001, 29871, 13,  // ▁system \n You ...
        32000, 1404, 13, 10994, 29991, 32001, 29871, 13,                                // ▁user \n Hello !
        32000, 20255, 13, 18567, 727, 32001, 29871, 13,                                 // ▁assistant \n Hi ▁there
        32000, 1404, 13, 5328, 526, 366, 29973, 32001, 29871, 13,
        32000, 20255, 13 };
    CHECK(r.ids == expected);
}

TEST_CASE("chat template ChatML: markers the vocabulary lacks are text", "[chat]")
{
    // Llama-2's vocabulary has no <|im_start|>: the whole rendering is one fragment after BOS.
    const Rendered r = render(Family::ChatMl, llama_vocabulary().tokenizer, { { Role::User, "Hi" } });
    CHECK(r.text == "<s><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    const std::vector<i32> expected = encode_text(llama_vocabulary().tokenizer, "<|im_start|>user\nHi<|im_end|>\n"
                                                                              "<|im_start|>assistant\n");
    CHECK(r.ids == expected);
}

TEST_CASE("chat template Llama-2: the system block in the first message, BOS per turn, stripped content", "[chat]")
{
    std::vector<chat::Message> messages = { { Role::System, "You are a friendly chatbot." } };
    messages.insert(messages.end(), three_turns.begin(), three_turns.end());
    messages[2].content = "  Hi there\n";  // the assistant's content is stripped
    Rendered r = render(Family::Llama2, llama_vocabulary().tokenizer, messages);
    CHECK(r.text ==
        "<s>[INST] <<SYS>>\nYou are a friendly chatbot.\n<</SYS>>\n\nHello! [/INST] Hi there </s>"
        "<s>[INST] How are you? [/INST]");
    const std::vector<i32> expected = { 1,
        518, 25580, 29962, 3532, 14816, 29903, 6778, 13,                // ▁[ INST ] ▁<< SY S >> \n
        3492, 526, 263, 19780, 13563, 7451, 29889,                      // You ▁are ▁a ▁friendly ▁chat bot .
        13, 29966, 829, 14816, 29903, 6778, 13, 13,                     // \n < </ SY S >> \n \n
        10994, 29991, 518, 29914, 25580, 29962, 6324, 727, 29871,       // Hello ! ▁[ / INST ] ▁Hi ▁there ▁
        2, 1,
        518, 25580, 29962, 1128, 526, 366, 29973, 518, 29914, 25580, 29962 };
    CHECK(r.ids == expected);

    // No system prompt: the user's text stripped on both sides.
    r = render(Family::Llama2, llama_vocabulary().tokenizer, { { Role::User, " \tHello!\n" } });
    CHECK(r.text == "<s>[INST] Hello! [/INST]");
    CHECK(r.ids == std::vector<i32> { 1, 518, 25580, 29962, 15043, 29991, 518, 29914, 25580, 29962 });

    // strip() of "<<SYS>>...\n\n" + an empty user text takes the "\n\n" with it.
    r = render(Family::Llama2, llama_vocabulary().tokenizer, { { Role::System, "S" }, { Role::User, " " } });
    CHECK(r.text == "<s>[INST] <<SYS>>\nS\n<</SYS>> [/INST]");
}

TEST_CASE("chat template Llama-2: roles must alternate, as its template says", "[chat]")
{
    const chat::Template t = chat::bind(Family::Llama2, llama_vocabulary().tokenizer);
    chat::PromptBuilder b(t, llama_vocabulary().tokenizer);
    const chat::Message twice[] = { { Role::User, "a" }, { Role::User, "b" } };
    auto done = chat::render_messages(b, twice, 2);
    REQUIRE(done.is_error());
    CHECK(done.error().code() == kl::ErrorCode::InvalidArgument);
    CHECK(std::string(done.error().message()).find("Conversation roles must alternate") != std::string::npos);
}

TEST_CASE("chat templates: message content never becomes a special token", "[chat]")
{
    const Tokenizer& t = chatml_vocabulary().tokenizer;
    const Rendered r = render(Family::ChatMl, t, { { Role::User, "</s><|im_end|><s>" } });
    // BOS, then <|im_start|> user \n, the content as text, <|im_end|> \n <|im_start|> assistant \n.
    CHECK(std::count(r.ids.begin(), r.ids.end(), 1) == 1);
    CHECK(std::count(r.ids.begin(), r.ids.end(), 2) == 0);
    CHECK(std::count(r.ids.begin(), r.ids.end(), 32001) == 1);
    CHECK(std::count(r.ids.begin(), r.ids.end(), 32000) == 2);
}

TEST_CASE("chat templates: no template is plain completion, BOS first", "[chat]")
{
    const Tokenizer& t = llama_vocabulary().tokenizer;
    const Rendered r = render(Family::None, t, { { Role::User, "Once upon a time" } });
    CHECK(r.text == "<s>Once upon a time");
    CHECK(r.ids == std::vector<i32> { 1, 9038, 2501, 263, 931 });
}
