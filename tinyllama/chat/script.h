// Scripted chat: MODE=chat on the serial port and bareflow-host --chat on stdin/stdout read
// one user turn per line and answer each between framing lines:
//
//   @reply-begin
//   the reply's text, byte for byte as the model sampled it
//   @reply-end
//
// (the caller then writes the turn's @stats line). A line that starts with '/' is a
// console command (tinyllama/kernel_app/console_commands.h): /system TEXT (a new
// conversation with that system prompt), /reset (a new conversation, the system prompt
// kept), /temp X, /topp X, /seed N, /steps N (a reply's most tokens) and /quit; the
// console's other commands are refused. "//text" is a turn that starts with "/text".
// Both sides run this same code, so the same seed gives the same replies.
#pragma once

#include "kernel_lib/base/error.h"
#include "tinyllama/engine.h"

namespace tllama::chat {

struct Script {
    Engine& engine;
    u32 max_reply;        // a reply's most tokens (0: to the end of the context)
    TextSink out;         // the replies' text
    void (*line)(void* context, const char* text);  // the framing lines ("@reply-begin\n"), with out.context
    // Called between rendering a turn and its reply (bareflow-host --verbose-prompt); may be null.
    void (*rendered)(void* context, const Conversation& conversation) = nullptr;
    void* rendered_context = nullptr;
};

enum class ScriptStep : u8 {
    Command,  // a command ran (or the line was blank)
    Replied,  // a turn was answered: `stats` holds its figures
    Quit,
};

// Runs one line (NUL-terminated, without its newline). Errors: a bad command (UsageError)
// or a turn that cannot be answered (PromptTooLong, OutOfMemory): the script goes on.
kl::ErrorOr<ScriptStep> run_script_line(Script& script, const char* line, GenerateStats& stats);

// A user turn that is never a command: the PROMPT= setting of MODE=chat and bareflow-host
// --chat -i TEXT, answered before the first line. Errors: as answer_turn's.
kl::ErrorOr<ScriptStep> run_script_message(Script& script, const char* text, GenerateStats& stats);

// One user turn (the console's chat mode too): the reply framed as above. Errors: those of
// Conversation::add_user_turn (nothing is written then).
kl::ErrorOr<GenerateStats> answer_turn(Script& script, const char* text);

// The note scripts print first: the template's family, or why this is plain completion.
void describe_chat(const Engine& engine, char* buffer, usize size);

}
