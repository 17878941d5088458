// Scripted chat (tinyllama/chat/script.h), as MODE=chat and bareflow-host --chat run it:
// each turn's reply between @reply-begin/@reply-end lines, the same replies for the same
// seed, the script's commands, and the refusals that leave the chat going.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/host/tinyllama/gguf_fixtures.h"
#include "tests/host/tinyllama/model_fixtures.h"
#include "tinyllama/chat/script.h"

using namespace tllama;
using namespace tllama::test;

namespace {

void append_text(void* context, const char* bytes, usize length)
{
    static_cast<std::string*>(context)->append(bytes, length);
}

void append_line(void* context, const char* line) { static_cast<std::string*>(context)->append(line); }

std::vector<u8> chat_gguf(const char* chat_template)
{
    Config config = small_config();
    config.seq_len = 256;
    tools::GgufModelSpec spec = small_spec(config, "q8_0");
    if (chat_template)
        spec.chat_template = tools::find_chat_template(chat_template);
    return make_gguf(spec);
}

struct ScriptRun {
    std::string out;
    std::vector<std::string> errors;
    std::vector<GenerateStats> turns;
};

// The lines through a fresh engine (seed 42, replies of at most 10 tokens).
ScriptRun run_script(const std::vector<u8>& file, const std::vector<const char*>& lines)
{
    EngineOptions options;
    options.seed = 42;
    auto opened = Engine::open(file.data(), file.size(), nullptr, 0, options);
    INFO(error_text(opened));
    REQUIRE_FALSE(opened.is_error());
    Engine& engine = *opened.value();
    ScriptRun run;
    chat::Script script { engine, 10, { append_text, &run.out }, append_line };
    for (const char* line : lines) {
        GenerateStats stats {};
        auto step = chat::run_script_line(script, line, stats);
        if (step.is_error())
            run.errors.push_back(step.error().message());
        else if (step.value() == chat::ScriptStep::Replied)
            run.turns.push_back(stats);
        else if (step.value() == chat::ScriptStep::Quit)
            break;
    }
    Engine::close(&engine);
    return run;
}

usize count(const std::string& text, const std::string& what)
{
    usize n = 0;
    for (usize at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

}

TEST_CASE("chat script: framed replies, the same for the same seed, commands between turns", "[chat]")
{
    const std::vector<u8> file = chat_gguf("tinyllama");
    const std::vector<const char*> lines = { "Hello!", "", "/system You are a pirate.", "Who are you?", "/steps 4",
        "/temp 0", "And then?", "/reset", "//slash turn", "/quit", "never read" };
    const ScriptRun a = run_script(file, lines);
    CHECK(a.errors.empty());
    REQUIRE(a.turns.size() == 4);
    CHECK(count(a.out, "@reply-begin\n") == 4);
    CHECK(count(a.out, "\n@reply-end\n") == 4);
    CHECK(a.out.rfind("@reply-begin\n", 0) == 0);
    CHECK(a.turns[0].generated_tokens <= 10);
    CHECK(a.turns[2].generated_tokens <= 4);  // /steps 4
    // /system starts a new conversation; /reset too: the history is the turn alone.
    CHECK(a.turns[1].context_used < a.turns[0].context_used + 40);
    CHECK(a.turns[3].context_used <= a.turns[1].context_used);
    const ScriptRun b = run_script(file, lines);
    CHECK(a.out == b.out);
}

TEST_CASE("chat script: refusals leave the chat going", "[chat]")
{
    const std::vector<u8> file = chat_gguf("tinyllama");
    const std::string too_long(2000, 'x');
    const ScriptRun r = run_script(file, { "/profile", "/temp hot", too_long.c_str(), "Hi" });
    REQUIRE(r.errors.size() == 3);
    CHECK(r.errors[0].find("/profile is a console command") != std::string::npos);
    CHECK(r.errors[1].find("/temp") != std::string::npos);
    CHECK(r.errors[2].find("shorten the message") != std::string::npos);
    CHECK(r.turns.size() == 1);
    CHECK(count(r.out, "@reply-begin\n") == 1);
}

TEST_CASE("chat script: without a template the turns continue the text, and the note says why", "[chat]")
{
    const std::vector<u8> file = chat_gguf(nullptr);
    EngineOptions options;
    auto opened = Engine::open(file.data(), file.size(), nullptr, 0, options);
    REQUIRE_FALSE(opened.is_error());
    char note[256];
    chat::describe_chat(*opened.value(), note, sizeof(note));
    CHECK(std::string(note).find("plain completion") != std::string::npos);
    CHECK(std::string(note).find("no chat template") != std::string::npos);
    Engine::close(opened.value());
    const ScriptRun r = run_script(file, { "Once upon a time", "there was" });
    CHECK(r.errors.empty());
    REQUIRE(r.turns.size() == 2);
    CHECK(r.turns[1].context_used > r.turns[0].context_used);
}
