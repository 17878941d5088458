// Console command parsing (see console_commands.h).
#include "tinyllama/kernel_app/console_commands.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

namespace tllama {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

enum class Argument : u8 { None, Temperature, Topp, Seed, Steps, OnOff, Text };

struct CommandSpec {
    const char* name;
    CommandKind kind;
    Argument argument;
};

constexpr CommandSpec specs[] = {
    { "help", CommandKind::Help, Argument::None },
    { "?", CommandKind::Help, Argument::None },
    { "temp", CommandKind::Temp, Argument::Temperature },
    { "topp", CommandKind::Topp, Argument::Topp },
    { "seed", CommandKind::Seed, Argument::Seed },
    { "steps", CommandKind::Steps, Argument::Steps },
    { "stats", CommandKind::Stats, Argument::None },
    { "profile", CommandKind::Profile, Argument::None },
    { "jit", CommandKind::Jit, Argument::OnOff },
    { "clear", CommandKind::Clear, Argument::None },
    { "reboot", CommandKind::Reboot, Argument::None },
    { "quit", CommandKind::Quit, Argument::None },
    { "exit", CommandKind::Quit, Argument::None },
    { "system", CommandKind::System, Argument::Text },
    { "reset", CommandKind::Reset, Argument::None },
    { "chat", CommandKind::Chat, Argument::OnOff },
};

// The rows of /help, laid out as the console prints them: one text instead of a table of
// pointers (54 bytes of kernel.bin).
constexpr char help_text[] =
    "  TEXT           chat: your turn; stories: one that starts with TEXT (//TEXT: /TEXT)\n"
    "  /system [TEXT] chat: a new conversation with this system prompt\n"
    "  /reset         chat: a new conversation (the system prompt stays)\n"
    "  /chat on|off   chat mode, or story mode (the conversation is kept)\n"
    "  /temp [X]      sampling temperature, 0 (greedy) to 100; no value: show it\n"
    "  /topp [X]      top-p (nucleus) sampling, 0 to 1 (0 or 1: the whole distribution)\n"
    "  /seed [N]      seed of the sampler's RNG, restarts it; 0: a new seed from the TSC\n"
    "  /steps [N]     story length in tokens, 0 (the model's seq_len) to 1048576\n"
    "  /stats         figures of the last story (and its @stats line again)\n"
    "  /profile       the micro-JIT's table: kernels, tiers, cycles, speedups (@profile)\n"
    "  /jit on|off    off: every kernel back to the reference, no tuning; on: tune again\n"
    "  /clear         clear the screen (also Ctrl-L)\n"
    "  /reboot        restart the machine\n"
    "  /quit          leave (also Ctrl-D on an empty line; /exit)\n"
    "  Ctrl-C, Esc    stop the story being told\n";

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The argument text [begin, end) with blanks trimmed on both sides.
struct Span {
    const char* begin;
    const char* end;
    usize length() const { return static_cast<usize>(end - begin); }
    bool empty() const { return begin == end; }
};

Span trimmed(const char* text)
{
    while (is_blank(*text))
        ++text;
    const char* end = text + strlen(text);
    while (end > text && is_blank(end[-1]))
        --end;
    return { text, end };
}

Error usage(const char* fmt, const char* name, const Span& value, const char* expected)
{
    return Error::make(ErrorCode::UsageError, fmt, name, static_cast<int>(value.length() > 40 ? 40 : value.length()),
        value.begin, expected);
}

constexpr const char* bad_value_format = "/%s: '%.*s' is not valid; expected %s";

ErrorOr<float> parse_float(const char* name, const Span& value, float min, float max, const char* expected)
{
    char text[48];
    if (value.length() >= sizeof(text))
        return usage(bad_value_format, name, value, expected);
    memcpy(text, value.begin, value.length());
    text[value.length()] = 0;
    if (!(isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.' || text[0] == '-' || text[0] == '+'))
        return usage(bad_value_format, name, value, expected);
    char* end = nullptr;
    const float number = strtof(text, &end);
    // NaN fails both comparisons and is refused with everything else out of range.
    if (end == text || *end != 0 || !(number >= min && number <= max))
        return usage(bad_value_format, name, value, expected);
    return number;
}

ErrorOr<u64> parse_unsigned(const char* name, const Span& value, u64 max, const char* expected)
{
    char text[32];
    if (value.length() >= sizeof(text) || !isdigit(static_cast<unsigned char>(value.begin[0])))
        return usage(bad_value_format, name, value, expected);
    memcpy(text, value.begin, value.length());
    text[value.length()] = 0;
    char* end = nullptr;
    const unsigned long long number = strtoull(text, &end, 10);
    // strtoull answers ULLONG_MAX on overflow, which is out of every range here.
    if (*end != 0 || number > max || number == ~0ull)
        return usage(bad_value_format, name, value, expected);
    return static_cast<u64>(number);
}

ErrorOr<void> parse_argument(const CommandSpec& spec, const Span& value, Command& command)
{
    if (value.empty())
        return {};  // no value: the console shows the current setting
    if (spec.argument == Argument::Text) {
        command.has_value = true;
        command.prompt = value.begin;  // to the end of the line
        return {};
    }
    for (const char* c = value.begin; c < value.end; ++c) {
        if (is_blank(*c))
            return usage("/%s takes one value, got '%.*s'%s", spec.name, value, "");
    }
    command.has_value = true;
    switch (spec.argument) {
    case Argument::Text:
    case Argument::None:
        return usage("/%s takes no value, got '%.*s'%s", spec.name, value, "");
    case Argument::Temperature:
        command.number = TRY(parse_float(spec.name, value, 0.0f, max_temperature, "a number from 0 (greedy) to 100"));
        return {};
    case Argument::Topp:
        command.number = TRY(parse_float(spec.name, value, 0.0f, 1.0f, "a number from 0 to 1"));
        return {};
    case Argument::Seed:
        command.integer = TRY(parse_unsigned(spec.name, value, max_seed, "a whole number (0 = a new seed from the TSC)"));
        return {};
    case Argument::Steps:
        command.integer = TRY(parse_unsigned(spec.name, value, max_steps,
            "a whole number from 0 (the model's seq_len) to 1048576"));
        return {};
    case Argument::OnOff:
        if (value.length() == 2 && strncmp(value.begin, "on", 2) == 0)
            command.on = true;
        else if (value.length() == 3 && strncmp(value.begin, "off", 3) == 0)
            command.on = false;
        else
            return usage(bad_value_format, spec.name, value, "on or off");
        return {};
    }
    return {};
}

}

ErrorOr<Command> parse_command(const char* line)
{
    Command command;
    const char* start = line;
    while (is_blank(*start))
        ++start;
    if (*start == 0)
        return command;
    if (start[0] != '/' || start[1] == '/') {
        command.kind = CommandKind::Story;
        // "//text" escapes a story that starts with a slash; other stories keep every byte.
        command.prompt = start[0] == '/' ? start + 1 : line;
        return command;
    }

    const char* name = start + 1;
    usize name_length = 0;
    while (name[name_length] && !is_blank(name[name_length]))
        ++name_length;
    for (const CommandSpec& spec : specs) {
        if (strlen(spec.name) != name_length || strncmp(spec.name, name, name_length) != 0)
            continue;
        command.kind = spec.kind;
        TRY(parse_argument(spec, trimmed(name + name_length), command));
        return command;
    }
    return Error::make(ErrorCode::UsageError, "unknown command /%.*s: /help lists the commands",
        static_cast<int>(name_length > 40 ? 40 : name_length), name);
}

const char* command_help() { return help_text; }

const char* command_name(CommandKind kind)
{
    for (const CommandSpec& spec : specs) {
        if (spec.kind == kind)
            return spec.name;
    }
    return kind == CommandKind::Story ? "story" : "nothing";
}

}
