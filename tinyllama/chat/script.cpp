// Scripted chat, one line at a time (see script.h).
#include "tinyllama/chat/script.h"

#include <stdio.h>

#include "kernel_lib/time/tsc.h"
#include "tinyllama/kernel_app/console_commands.h"

namespace tllama::chat {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

// The settings a script may change; the console's other commands make no sense in one.
ErrorOr<void> run_command(Script& s, const Command& command)
{
    Engine& e = s.engine;
    switch (command.kind) {
    case CommandKind::System: return e.conversation().set_system(command.prompt);
    case CommandKind::Reset: e.conversation().reset(); return {};
    case CommandKind::Temp:
        if (command.has_value)
            e.set_temperature(command.number);
        return {};
    case CommandKind::Topp:
        if (command.has_value)
            e.set_topp(command.number);
        return {};
    case CommandKind::Seed:
        if (command.has_value)
            e.reseed(command.integer ? command.integer : kl::time::rdtsc() | 1);
        return {};
    case CommandKind::Steps:
        if (command.has_value)
            s.max_reply = static_cast<u32>(command.integer);
        return {};
    default:
        return Error::make(ErrorCode::UsageError,
            "/%s is a console command: a chat script takes /system, /reset, /temp, /topp, /seed, /steps and /quit",
            command_name(command.kind));
    }
}

}

ErrorOr<ScriptStep> run_script_line(Script& s, const char* line, GenerateStats& stats)
{
    const Command command = TRY(parse_command(line));
    if (command.kind == CommandKind::Nothing)
        return ScriptStep::Command;
    if (command.kind == CommandKind::Quit)
        return ScriptStep::Quit;
    if (command.kind != CommandKind::Story) {
        TRY(run_command(s, command));
        return ScriptStep::Command;
    }
    return run_script_message(s, command.prompt, stats);
}

ErrorOr<ScriptStep> run_script_message(Script& s, const char* text, GenerateStats& stats)
{
    stats = TRY(answer_turn(s, text));
    return ScriptStep::Replied;
}

ErrorOr<GenerateStats> answer_turn(Script& s, const char* text)
{
    Conversation& conversation = s.engine.conversation();
    TRY(conversation.add_user_turn(text, s.max_reply));
    if (s.rendered)
        s.rendered(s.rendered_context, conversation);
    s.line(s.out.context, "@reply-begin\n");
    auto replied = conversation.reply(s.max_reply, s.out);
    s.out.write(s.out.context, "\n", 1);  // ends the reply's line on the screen too
    s.line(s.out.context, "@reply-end\n");
    return replied;
}

void describe_chat(const Engine& engine, char* buffer, usize size)
{
    const Family family = engine.chat_family();
    if (family == Family::None)
        snprintf(buffer, size, "chat: plain completion (each turn continues the text), since %s", engine.chat_why());
    else
        snprintf(buffer, size, "chat: the model's template is %s; one user turn per line", family_name(family));
}

}
