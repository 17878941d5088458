// The engine inside the kernel: opened from the image's payloads, telling stories on the
// serial port and the screen, in generate mode and at the console alike.
//
// The serial port gets the contract's lines exactly: `@text-begin`, the text byte for byte
// (no colour codes), `@text-end`, `@stats {json}`. The screen gets the text in colour (the
// prompt's pieces in one, the generated ones in another) and, on both, the one-line
// summary people read ("252 tokens, 3401.2 tok/s, first token after 7.8 ms").
#pragma once

#include "kernel_lib/boot/bootinfo.h"
#include "tinyllama/engine.h"
#include "tinyllama/kernel_app/boot_settings.h"

namespace tllama {

// Opens the engine on the "model" and "tokenizer" payloads (their CRCs were checked at
// boot) with the boot settings, a warm start from the "profile" payload when present.
kl::ErrorOr<Engine*> open_engine(const kl::boot::BootInfo& info, const BootSettings& settings);

// Asked after every token whether to end the story early (the console's Ctrl-C).
struct StoryStop {
    bool (*requested)(void* context) = nullptr;
    void* context = nullptr;
};

// One story, with the lines above.
kl::ErrorOr<GenerateStats> tell_story(Engine& engine, const char* prompt, u32 steps, const StoryStop& stop = {});

// One chat turn (tinyllama/chat/script.h) on the serial port (@reply-begin, the reply byte
// for byte, @reply-end, @stats) and the screen (the reply in its colour, the summary): the
// console's chat mode and MODE=chat. Errors: those of Conversation::add_user_turn.
kl::ErrorOr<GenerateStats> chat_turn(Engine& engine, const char* text, u32 max_reply, const StoryStop& stop = {});

// MODE=chat: user turns and script commands from the serial port, one a line, until /quit
// or Ctrl-D; a line that fails is an @error line and the chat goes on.
[[noreturn]] void run_chat_mode(Engine& engine, const BootSettings& settings);

// The `@stats {json}` line of a story, on the serial port only.
void write_stats_line(const Engine& engine, const GenerateStats& stats);

// The figures of a story for people, a few lines on the screen and the serial port (/stats).
void print_stats_text(const Engine& engine, const GenerateStats& stats);

}
