// The interactive console's command language: one typed line becomes a Command or a
// one-line error message. Shared code (no hardware), so the host tests cover every rule.
//
//   Once upon a time        a story with this prompt (any line not starting with '/')
//   //etc                   a story whose prompt starts with a slash ("/etc")
//   /temp 0.8  /temp        set (or show) the sampling temperature, 0 to 100
//   /topp 0.9  /topp        set (or show) top-p, 0 to 1 (0 or 1: the whole distribution)
//   /seed 42   /seed        set (or show) the RNG seed; 0 = a new one from the TSC
//   /steps 256 /steps       set (or show) the story length; 0 = the model's seq_len
//   /system TEXT /system    chat: a new conversation with this system prompt (or show it)
//   /reset                  chat: a new conversation, the system prompt kept
//   /chat on|off /chat      chat mode (a line is a user turn) or story mode, or show which
//   /stats /profile /jit on|off /clear /help /reboot /quit (/exit)
//
// The ranges are those of the boot settings (tinyllama/kernel_app/boot_settings.cpp), so a value
// the console takes is one the image could have been built with.
#pragma once

#include "kernel_lib/base/error.h"

namespace tllama {

enum class CommandKind : u8 {
    Nothing,  // an empty (or all-blank) line
    Story,    // a story's prompt, or in chat mode a user turn
    Help,
    Temp,
    Topp,
    Seed,
    Steps,
    Stats,
    Profile,
    Jit,
    Clear,
    Reboot,
    Quit,
    System,
    Reset,
    Chat,
};

struct Command {
    CommandKind kind = CommandKind::Nothing;
    bool has_value = false;        // Temp/Topp/Seed/Steps/Jit/System/Chat: a value was given (else: show)
    float number = 0.0f;           // Temp, Topp
    u64 integer = 0;               // Seed, Steps
    bool on = false;               // Jit, Chat
    const char* prompt = nullptr;  // Story, System (blanks before it skipped): points into the parsed line
};

// The limits shared with the boot settings.
constexpr float max_temperature = 100.0f;
constexpr u64 max_steps = 1u << 20;
constexpr u64 max_seed = ~0ull - 1;

// Parses one line (NUL-terminated). A bad command or value is a UsageError whose message
// is one line naming what was wrong and what is accepted.
kl::ErrorOr<Command> parse_command(const char* line);

// The rows of /help, in the order shown: "  /temp [X]      sampling temperature, ...\n" and so on.
const char* command_help();

// "temp", "jit", ... (for messages); "story" and "nothing" for the other kinds.
const char* command_name(CommandKind kind);

}
