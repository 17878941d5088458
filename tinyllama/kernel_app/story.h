// The engine inside the kernel: built from the image's payloads, telling stories on the
// serial port and the screen with the `@text-begin` / `@text-end` / `@stats` lines of the
// contract.
#pragma once

#include "kernel_lib/boot/bootinfo.h"
#include "tinyllama/kernel_app/boot_settings.h"
#include "tinyllama/engine_jit.h"
#include "tinyllama/generate.h"

namespace tllama {

struct Engine {
    Transformer transformer;
    Tokenizer tokenizer {};
    Sampler sampler {};
    const char* model_name = "model";
    float temperature = 1.0f;
    float topp = 0.9f;
    u64 seed = 0;
    GenerateStats last {};
    bool has_run = false;
    EngineJit* jit = nullptr;
};

// Parses the "model" and "tokenizer" payloads (their CRCs were checked at boot), builds the
// transformer, tokenizer and sampler, and prints the model summary and memory use.
kl::ErrorOr<void> build_engine(Engine& engine, const kl::boot::BootInfo& info, const BootSettings& settings);

// One story: `@text-begin`, the text as produced (serial and screen, the prompt in its own
// colour), `@text-end`, then `@stats {...}` and the profile (`@profile {...}`).
kl::ErrorOr<GenerateStats> tell_story(Engine& engine, const char* prompt, u32 steps);

// Re-seeds the sampler (interactive /seed) or sets temperature/top-p for the next story.
kl::ErrorOr<void> reset_sampler(Engine& engine);

}
