// Stories as the interactive console tells them, and the figures it shows about them.
//
// The serial port gets the contract's lines exactly as in generate mode: `@text-begin`,
// the text byte for byte (no colour codes), `@text-end`, `@stats {json}` (with "stopped"
// when Ctrl-C or Esc ended the story early). The screen gets the text in colour (the
// prompt's pieces in one, the generated ones in another) and a one-line summary instead
// of the machine lines, and the top row shows the status line.
//
// FIXME: tell_story() (story.kernel.cpp) prints the same @stats line for generate mode but
// takes no stop callback; once it does, the two can share print_stats_line().
#pragma once

#include "tinyllama/kernel_app/story.h"

namespace tllama {

// Asked after every token whether to end the story early (see TextSink::stop).
struct StoryStop {
    bool (*requested)(void* context) = nullptr;
    void* context = nullptr;
};

// One story; the engine's `last` and `has_run` are updated. `jit_on` is the JIT's state
// as the console has it (it can be switched off at run time).
kl::ErrorOr<GenerateStats> tell_console_story(Engine& engine, const char* prompt, u32 steps, const StoryStop& stop,
    bool jit_on);

// The `@stats {json}` line of `stats` (serial only).
void print_stats_line(const Engine& engine, const GenerateStats& stats, bool jit_on);

// The same figures for people, a few lines on both the screen and the serial port.
void print_stats_text(const Engine& engine, const GenerateStats& stats, bool jit_on);

// The top screen row: model, ISA, JIT state, cores, the last story's speed.
void draw_status_line(const Engine& engine, bool jit_on);

// "avx2" while the JIT is on, "off" otherwise (the `isa` field of @stats and @profile).
const char* console_isa_name(const Engine& engine, bool jit_on);

}
