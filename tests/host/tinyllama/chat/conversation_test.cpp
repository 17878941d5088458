// The conversation in the KV cache (tinyllama/chat/conversation.h): after N turns, the
// cache holds exactly what the whole conversation prefilled at once would hold, so turn
// N + 1 gives the same logits; each turn prefills only its own tokens; a full context
// drops the oldest turns (the system prompt stays) and recomputes what is kept; a turn too
// long even alone is refused. The model is a small random GGUF with TinyLlama's template
// and the tok512.bin vocabulary, in F32 (the reference kernels: batched prefill and
// forward() agree bit for bit, see prefill_test.cpp).
#include <catch2/catch.hpp>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/host/tinyllama/gguf_fixtures.h"
#include "tests/host/tinyllama/model_fixtures.h"
#include "tinyllama/chat/conversation.h"

using namespace tllama;
using namespace tllama::test;
using chat::Family;
using chat::Role;

namespace {

void append_text(void* context, const char* bytes, usize length)
{
    static_cast<std::string*>(context)->append(bytes, length);
}

std::vector<u8> chat_gguf(i32 seq_len)
{
    Config config = small_config();
    config.seq_len = seq_len;
    tools::GgufModelSpec spec = small_spec(config, "f32");
    spec.chat_template = tools::find_chat_template("tinyllama");
    return make_gguf(spec);
}

// A model, its sampler and a conversation over them.
struct Chat {
    std::vector<u8> file;
    LoadedModel model;
    Sampler sampler {};
    chat::Conversation conversation;
    std::string text;  // what the replies streamed

    explicit Chat(i32 seq_len) : file(chat_gguf(seq_len)), model(file.data(), file.size(), nullptr)
    {
        REQUIRE_FALSE(build_sampler(sampler, model.transformer.config.vocab_size, 1.0f, 0.9f, 7).is_error());
        auto done = conversation.init(model.transformer, model.tokenizer, sampler, Family::Zephyr);
        INFO(error_text(done));
        REQUIRE_FALSE(done.is_error());
    }
    ~Chat() { free_sampler(sampler); }

    void add(const char* user, u32 max_reply)
    {
        auto added = conversation.add_user_turn(user, max_reply);
        INFO(error_text(added));
        REQUIRE_FALSE(added.is_error());
    }
    GenerateStats reply(u32 max_reply)
    {
        TextSink sink { append_text, &text };
        auto stats = conversation.reply(max_reply, sink);
        INFO(error_text(stats));
        REQUIRE_FALSE(stats.is_error());
        return stats.value();
    }
    std::vector<i32> history() const
    {
        return { conversation.history(), conversation.history() + conversation.used() };
    }
};

const char* const user_turns[] = { "Hello! Who are you?", "Tell me about the park.", "What did Lily find there?",
    "Was the ball red?", "Thank you, goodbye." };

// The logits of the last position of `ids`, every position run one at a time from an empty
// cache in a model of its own.
std::vector<float> prefilled_logits(const std::vector<u8>& file, const std::vector<i32>& ids)
{
    LoadedModel fresh(file.data(), file.size(), nullptr);
    float* logits = nullptr;
    for (usize pos = 0; pos < ids.size(); ++pos)
        logits = forward(fresh.transformer, ids[pos], static_cast<i32>(pos));
    return { logits, logits + fresh.transformer.config.vocab_size };
}

// The conversation's last turn answered with one greedy token: the logits it was sampled from.
std::vector<float> next_turn_logits(Chat& c)
{
    c.sampler.temperature = 0.0f;  // argmax leaves the logits as the model computed them
    const GenerateStats stats = c.reply(1);
    CHECK(stats.sampled == 1);
    const float* logits = c.model.transformer.state.logits;
    return { logits, logits + c.model.transformer.config.vocab_size };
}

}

TEST_CASE("chat conversation: turn N+1 after N turns gives the logits of the whole conversation prefilled", "[chat]")
{
    Chat c(512);
    REQUIRE_FALSE(c.conversation.set_system("You are a friendly chatbot.").is_error());
    for (u32 turn = 0; turn < 3; ++turn) {
        const u32 cached_before = c.conversation.cached();
        c.add(user_turns[turn], 12);
        const u32 rendered = c.conversation.used() - c.conversation.rendered_from();
        const GenerateStats stats = c.reply(12);
        // Only the turn's own tokens are forced: what it rendered, plus the last reply's
        // final sampled token, which no pass has computed yet.
        CHECK(stats.prompt_tokens == rendered + (turn ? 1 : 0));
        CHECK(cached_before + stats.prompt_tokens == c.conversation.rendered_from() + rendered);
        CHECK(stats.chat);
        CHECK(stats.context_used == c.conversation.used());
        CHECK(stats.generated_tokens <= 12);
    }
    CHECK(c.conversation.turns() == 3);
    c.add(user_turns[3], 12);
    const std::vector<i32> history = c.history();
    const std::vector<float> continued = next_turn_logits(c);
    CHECK(continued == prefilled_logits(c.file, history));

    // The first turn's ids are the template's rendering of the system and user messages.
    const chat::Template t = c.conversation.chat_template();
    chat::PromptBuilder b(t, c.model.tokenizer);
    const chat::Message first[] = { { Role::System, "You are a friendly chatbot." }, { Role::User, user_turns[0] } };
    REQUIRE_FALSE(chat::render_messages(b, first, 2).is_error());
    REQUIRE(history.size() > b.count());
    CHECK(std::vector<i32>(history.begin(), history.begin() + b.count()) == std::vector<i32>(b.ids(), b.ids() + b.count()));
}

TEST_CASE("chat conversation: a story in between, /reset and a new system prompt recompute what changed", "[chat]")
{
    Chat c(512);
    REQUIRE_FALSE(c.conversation.set_system("Be brief.").is_error());
    c.add(user_turns[0], 8);
    c.reply(8);
    // The KV cache told a story meanwhile: the next turn recomputes the whole conversation.
    c.conversation.forget_cache();
    c.add(user_turns[1], 8);
    const u32 whole = c.conversation.used();
    CHECK(c.reply(8).prompt_tokens == whole);
    c.conversation.forget_cache();
    c.add(user_turns[2], 8);
    const u32 used = c.conversation.used();
    CHECK(c.reply(8).prompt_tokens == used);

    // /reset keeps the system prompt's positions: the new first turn forces only what differs.
    c.conversation.reset();
    CHECK(c.conversation.turns() == 0);
    c.add(user_turns[3], 8);
    const std::vector<i32> history = c.history();
    const u32 used_after_reset = c.conversation.used();
    const std::vector<float> logits = next_turn_logits(c);
    CHECK(c.conversation.cached() <= used_after_reset + 1);
    CHECK(logits == prefilled_logits(c.file, history));

    // A new system prompt starts a new conversation with it.
    REQUIRE_FALSE(c.conversation.set_system("Be kind.").is_error());
    CHECK(c.conversation.used() == 0);
    CHECK(std::string(c.conversation.system()) == "Be kind.");
    c.add(user_turns[4], 8);
    const std::vector<i32> kind = c.history();
    CHECK(next_turn_logits(c) == prefilled_logits(c.file, kind));
}

TEST_CASE("chat conversation: a full context drops the oldest turns and keeps the system prompt", "[chat]")
{
    Chat c(160);
    const char* system = "You are a friendly chatbot.";
    REQUIRE_FALSE(c.conversation.set_system(system).is_error());
    chat::PromptBuilder b(c.conversation.chat_template(), c.model.tokenizer);
    chat::begin(b);
    chat::message(b, Role::System, system);
    REQUIRE_FALSE(b.finish().is_error());
    const std::vector<i32> system_ids(b.ids(), b.ids() + b.count());

    u32 dropped = 0;
    for (u32 turn = 0; turn < 5; ++turn) {
        c.add(user_turns[turn], 16);
        // The turn and room for its reply always fit.
        CHECK(c.conversation.used() + 16 <= c.conversation.context());
        const std::vector<i32> history = c.history();
        CHECK(std::vector<i32>(history.begin(), history.begin() + system_ids.size()) == system_ids);
        const GenerateStats stats = c.reply(16);
        CHECK(stats.dropped_turns == c.conversation.dropped());
        dropped += c.conversation.dropped();
    }
    CHECK(dropped > 0);
    CHECK(c.conversation.turns() + dropped == 5);

    // After the drop, the cache is what the kept conversation prefilled at once gives.
    c.add("One more question?", 16);
    const std::vector<i32> history = c.history();
    CHECK(next_turn_logits(c) == prefilled_logits(c.file, history));
}

TEST_CASE("chat conversation: a turn too long for the context even alone is refused", "[chat]")
{
    Chat c(64);
    const std::string long_text(400, 'a');
    auto added = c.conversation.add_user_turn(long_text.c_str(), 8);
    REQUIRE(added.is_error());
    CHECK(added.error().code() == kl::ErrorCode::PromptTooLong);
    CHECK(std::string(added.error().message()).find("shorten the message") != std::string::npos);
    CHECK(c.conversation.turns() == 0);
    // The conversation goes on with a turn that fits.
    c.add("Hi", 8);
    const u32 used = c.conversation.used();
    CHECK(c.reply(8).prompt_tokens == used);
}

TEST_CASE("chat conversation: a rendered message list (the HTTP API) reuses the cache up to the first id that differs",
    "[chat]")
{
    Chat c(512);
    const chat::Template t = c.conversation.chat_template();
    auto rendered = [&](const chat::Message* messages, u32 count) {
        chat::PromptBuilder b(t, c.model.tokenizer);
        REQUIRE_FALSE(chat::render_messages(b, messages, count).is_error());
        return std::vector<i32>(b.ids(), b.ids() + b.count());
    };
    auto answer = [&](const std::vector<i32>& ids, u32 max_reply) {
        TextSink sink { append_text, &c.text };
        auto stats = c.conversation.reply_to_rendered(ids.data(), static_cast<u32>(ids.size()), max_reply, 0, sink);
        INFO(error_text(stats));
        REQUIRE_FALSE(stats.is_error());
        return stats.value();
    };

    // A cold request computes every position.
    const chat::Message first[] = { { Role::System, "You are a friendly chatbot." }, { Role::User, user_turns[0] } };
    const std::vector<i32> first_ids = rendered(first, 2);
    CHECK(answer(first_ids, 8).prompt_tokens == first_ids.size());
    const std::string reply = c.text;

    // The next request repeats the messages with the reply as text, and asks more: what
    // matches the cache is not computed again, and the logits are those of a fresh prefill.
    const chat::Message second[] = { first[0], first[1], { Role::Assistant, reply.c_str() }, { Role::User, user_turns[1] } };
    const std::vector<i32> second_ids = rendered(second, 4);
    REQUIRE(second_ids.size() > first_ids.size());
    CHECK(std::equal(first_ids.begin(), first_ids.end(), second_ids.begin()));
    c.sampler.temperature = 0.0f;
    const GenerateStats stats = answer(second_ids, 1);
    CHECK(stats.prompt_tokens <= second_ids.size() - first_ids.size());
    const float* logits = c.model.transformer.state.logits;
    CHECK(std::vector<float>(logits, logits + c.model.transformer.config.vocab_size)
        == prefilled_logits(c.file, second_ids));

    // The console's next turn starts a new conversation over what the request left.
    CHECK(c.conversation.turns() == 0);
    c.add(user_turns[2], 8);
    const std::vector<i32> history = c.history();
    CHECK(next_turn_logits(c) == prefilled_logits(c.file, history));
}
