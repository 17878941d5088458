// The console's command language: stories, every command with good and bad values, and
// the ranges shared with the boot settings (checked against the settings parser itself).
#include <catch2/catch.hpp>

#include <string.h>

#include <string>
#include <vector>

#include "tinyllama/kernel_app/boot_settings.h"
#include "tinyllama/kernel_app/console_commands.h"

using tllama::Command;
using tllama::CommandKind;
using tllama::parse_command;

namespace {

Command parsed(const char* line)
{
    auto result = parse_command(line);
    INFO("line: '" << line << "'");
    if (result.is_error())
        FAIL("refused: " << result.error().message());
    return result.release_value();
}

std::string refusal(const char* line)
{
    auto result = parse_command(line);
    INFO("line: '" << line << "'");
    REQUIRE(result.is_error());
    CHECK(result.error().code() == kl::ErrorCode::UsageError);
    std::string message = result.error().message();
    CHECK(message.find('\n') == std::string::npos);  // one line
    return message;
}

// Whether the boot settings parser takes `key=value` (the independent oracle for ranges).
bool settings_accept(const std::string& key, const std::string& value)
{
    std::string text = key + "=" + value + "\n";
    std::vector<char> scratch(text.size() * 2 + 2);
    return !tllama::parse_boot_settings(text.data(), text.size(), scratch.data()).is_error();
}

}

TEST_CASE("a line that is not a command is a story, byte for byte", "[console]")
{
    Command c = parsed("Once upon a time");
    CHECK(c.kind == CommandKind::Story);
    CHECK(std::string(c.prompt) == "Once upon a time");

    // Blanks and odd bytes belong to the prompt: the tokenizer sees what was typed.
    const char* line = "  Lily said \"hi\"  \xc3\xa9 ";
    c = parsed(line);
    CHECK(c.kind == CommandKind::Story);
    CHECK(c.prompt == line);

    // "//" escapes a story that starts with a slash.
    c = parsed("//usr is a directory");
    CHECK(c.kind == CommandKind::Story);
    CHECK(std::string(c.prompt) == "/usr is a directory");
}

TEST_CASE("blank lines do nothing", "[console]")
{
    CHECK(parsed("").kind == CommandKind::Nothing);
    CHECK(parsed("   \t ").kind == CommandKind::Nothing);
}

TEST_CASE("commands without values", "[console]")
{
    struct Row {
        const char* line;
        CommandKind kind;
    };
    for (const Row& r : { Row { "/help", CommandKind::Help }, Row { "/?", CommandKind::Help },
             Row { "/stats", CommandKind::Stats }, Row { "/profile", CommandKind::Profile },
             Row { "/clear", CommandKind::Clear }, Row { "/reboot", CommandKind::Reboot },
             Row { "/quit", CommandKind::Quit }, Row { "/exit", CommandKind::Quit },
             Row { "  /stats  ", CommandKind::Stats } }) {
        INFO(r.line);
        Command c = parsed(r.line);
        CHECK(c.kind == r.kind);
        CHECK_FALSE(c.has_value);
    }
    CHECK(refusal("/stats now").find("/stats takes no value") != std::string::npos);
    CHECK(refusal("/quit 0").find("/quit takes no value") != std::string::npos);
}

TEST_CASE("unknown commands are refused with a pointer to /help", "[console]")
{
    std::string m = refusal("/tmep 0.5");
    CHECK(m.find("unknown command /tmep") != std::string::npos);
    CHECK(m.find("/help") != std::string::npos);
    CHECK(refusal("/").find("unknown command /") != std::string::npos);
    // Names match whole words only.
    CHECK(refusal("/temperature 1").find("unknown command /temperature") != std::string::npos);
    CHECK(refusal("/TEMP 1").find("unknown command") != std::string::npos);
}

TEST_CASE("/temp and /topp take one number in the boot settings' ranges", "[console]")
{
    Command c = parsed("/temp 0.8");
    CHECK(c.kind == CommandKind::Temp);
    CHECK(c.has_value);
    CHECK(c.number == 0.8f);
    c = parsed("/temp   0  ");
    CHECK(c.number == 0.0f);
    CHECK(c.has_value);
    c = parsed("/temp");
    CHECK(c.kind == CommandKind::Temp);
    CHECK_FALSE(c.has_value);  // show the current value

    c = parsed("/topp .95");
    CHECK(c.kind == CommandKind::Topp);
    CHECK(c.number == 0.95f);

    CHECK(refusal("/temp hot").find("/temp: 'hot' is not valid; expected a number from 0") != std::string::npos);
    CHECK(refusal("/temp 0.5 0.6").find("/temp takes one value") != std::string::npos);
    CHECK(refusal("/topp 1.5").find("expected a number from 0 to 1") != std::string::npos);
    for (const char* bad : { "/temp -1", "/temp 100.5", "/temp nan", "/temp 1e9", "/temp 0.5x", "/topp -0.1" })
        refusal(bad);

    // Same verdict as the boot settings on the edges and around them.
    for (const char* value : { "0", "0.0", "1", "99.9", "100", "100.01", "-0.001", "1e2", "1e3" }) {
        INFO(value);
        CHECK(!parse_command((std::string("/temp ") + value).c_str()).is_error() == settings_accept("temp", value));
        CHECK(!parse_command((std::string("/topp ") + value).c_str()).is_error() == settings_accept("topp", value));
    }
}

TEST_CASE("/seed and /steps take whole numbers in the boot settings' ranges", "[console]")
{
    Command c = parsed("/seed 42");
    CHECK(c.kind == CommandKind::Seed);
    CHECK(c.integer == 42u);
    CHECK(parsed("/seed 0").integer == 0u);  // a new seed from the TSC
    CHECK(parsed("/seed 18446744073709551614").integer == 18446744073709551614ull);
    c = parsed("/steps 256");
    CHECK(c.kind == CommandKind::Steps);
    CHECK(c.integer == 256u);
    CHECK(parsed("/steps 0").integer == 0u);
    CHECK_FALSE(parsed("/steps").has_value);

    CHECK(refusal("/steps -3").find("/steps: '-3' is not valid; expected a whole number from 0") != std::string::npos);
    for (const char* bad : { "/steps 1048577", "/steps 2.5", "/steps 12abc", "/steps +5", "/seed 18446744073709551615",
             "/seed 99999999999999999999", "/seed x" })
        refusal(bad);

    for (const char* value : { "0", "1", "1048576", "1048577", "4294967296" }) {
        INFO(value);
        CHECK(!parse_command((std::string("/steps ") + value).c_str()).is_error() == settings_accept("steps", value));
    }
    for (const char* value : { "0", "7", "18446744073709551614", "18446744073709551615", "18446744073709551616" }) {
        INFO(value);
        CHECK(!parse_command((std::string("/seed ") + value).c_str()).is_error() == settings_accept("seed", value));
    }
}

TEST_CASE("/jit takes on or off", "[console]")
{
    Command c = parsed("/jit off");
    CHECK(c.kind == CommandKind::Jit);
    CHECK(c.has_value);
    CHECK_FALSE(c.on);
    c = parsed("/jit on");
    CHECK(c.on);
    CHECK_FALSE(parsed("/jit").has_value);
    CHECK(refusal("/jit maybe").find("expected on or off") != std::string::npos);
    refusal("/jit onn");
    refusal("/jit o");
}

TEST_CASE("chat commands: /system takes the rest of the line, /reset nothing, /chat on or off", "[console][chat]")
{
    Command c = parsed("/system   You are a pirate. Speak like one.");
    CHECK(c.kind == CommandKind::System);
    CHECK(c.has_value);
    CHECK(std::string(c.prompt) == "You are a pirate. Speak like one.");
    CHECK_FALSE(parsed("/system").has_value);
    CHECK(parsed("/reset").kind == CommandKind::Reset);
    refusal("/reset now");
    c = parsed("/chat off");
    CHECK(c.kind == CommandKind::Chat);
    CHECK((c.has_value && !c.on));
    CHECK(parsed("/chat on").on);
    CHECK(refusal("/chat maybe").find("expected on or off") != std::string::npos);
    CHECK(std::string(tllama::command_name(CommandKind::System)) == "system");
}

TEST_CASE("long bad values are cut in the message, which stays one line", "[console]")
{
    std::string line = "/temp " + std::string(500, '9');
    std::string m = refusal(line.c_str());
    CHECK(m.size() < 200);
    CHECK(m.find(std::string(40, '9')) != std::string::npos);
    CHECK(m.find(std::string(41, '9')) == std::string::npos);
}

TEST_CASE("the help table names every command", "[console]")
{
    const std::string all = tllama::command_help();
    // Every row is "  USAGE" padded to 16 columns, a blank and what it does.
    size_t rows = 0;
    for (size_t start = 0; start < all.size(); ++rows) {
        const size_t end = all.find('\n', start);
        REQUIRE(end != std::string::npos);
        const std::string row = all.substr(start, end - start);
        INFO(row);
        CHECK(row.rfind("  ", 0) == 0);
        CHECK(row.size() > 18);
        CHECK(row[16] == ' ');
        CHECK(row[17] != ' ');
        start = end + 1;
    }
    CHECK(rows >= 10);
    for (const char* name : { "/temp", "/topp", "/seed", "/steps", "/stats", "/profile", "/jit", "/reboot", "/quit", "/system",
             "/reset", "/chat" }) {
        INFO(name);
        CHECK(all.find(name) != std::string::npos);
        // Every command the table names is one the parser knows.
        CHECK_FALSE(parse_command(name).is_error());
    }
    CHECK(std::string(tllama::command_name(CommandKind::Temp)) == "temp");
    CHECK(std::string(tllama::command_name(CommandKind::Quit)) == "quit");
}
