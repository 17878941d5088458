// Stories and figures at the console (see console_story.h).
#include "tinyllama/kernel_app/console_story.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kernel_lib/cpu/features.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/time/tsc.h"
#include "kernel_lib/text/json.h"
#include "microjit/report.h"

namespace tllama {

namespace {

constexpr kl::vga::Color prompt_color = kl::vga::Yellow;
constexpr kl::vga::Color story_color = kl::vga::White;
constexpr kl::vga::Color note_color = kl::vga::DarkGray;

// A machine line for the serial port only: the screen shows people something shorter.
void serial_line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void serial_line(const char* fmt, ...)
{
    char line[1024];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);
    if (n < 0)
        return;
    kl::serial::write(line, static_cast<usize>(n) < sizeof(line) ? static_cast<usize>(n) : sizeof(line) - 1);
}

// The first `prompt_pieces` pieces render the prompt, the rest is the model's own text.
struct ColoredSink {
    u32 prompt_pieces = 0;
    u32 pieces = 0;
    StoryStop stop;
};

void write_piece(void* context, const char* bytes, usize length)
{
    auto* sink = static_cast<ColoredSink*>(context);
    if (sink->pieces == 0 || sink->pieces == sink->prompt_pieces)
        kl::vga::set_color(sink->pieces < sink->prompt_pieces ? prompt_color : story_color);
    ++sink->pieces;
    kl::serial::write(bytes, length);  // byte for byte: no colour codes between the markers
    kl::vga::write(bytes, length);
}

bool stop_requested(void* context)
{
    auto* sink = static_cast<ColoredSink*>(context);
    return sink->stop.requested && sink->stop.requested(sink->stop.context);
}

// How many pieces the prompt prints: its tokens without BOS (0 when it cannot be encoded;
// generate() then reports the problem itself).
u32 prompt_piece_count(const Engine& engine, const char* prompt)
{
    const u64 length = strlen(prompt);
    auto memory = kl::mem::allocate(encode_capacity(length) * sizeof(i32), 16, "the prompt's tokens (colours)");
    if (memory.is_error())
        return 0;
    auto* tokens = static_cast<i32*>(memory.value());
    auto count = encode(engine.tokenizer, prompt, length, true, false, tokens, encode_capacity(length));
    kl::mem::release(tokens);
    return count.is_error() || count.value() == 0 ? 0 : count.value() - 1;
}

}

const char* console_isa_name(const Engine& engine, bool jit_on) { return jit_on ? engine.jit->isa_name() : "off"; }

kl::ErrorOr<GenerateStats> tell_console_story(Engine& engine, const char* prompt, u32 steps, const StoryStop& stop,
    bool jit_on)
{
    ColoredSink state;
    state.prompt_pieces = prompt_piece_count(engine, prompt);
    state.stop = stop;
    TextSink sink { write_piece, &state, stop_requested };

    // Each story gets its own profile, so /profile and its overhead figure describe one run.
    mjit::reset_profile(engine.transformer.dispatcher);
    serial_line("@text-begin\n");
    auto result = generate(engine.transformer, engine.tokenizer, engine.sampler, prompt, static_cast<i32>(steps), sink);
    kl::vga::set_color(kl::vga::LightGray);
    if (result.is_error())
        return result.release_error();
    GenerateStats stats = result.release_value();
    serial_line("@text-end\n");
    engine.last = stats;
    engine.has_run = true;
    print_stats_line(engine, stats, jit_on);

    const char* note = stats.stopped ? "[stopped] " : "";
    kl::vga::set_color(stats.stopped ? kl::vga::LightRed : note_color);
    kl::print("%s%u tokens, %.1f tok/s, first token after %.1f ms (/stats for more)\n", note,
        stats.generated_tokens, stats.tok_per_s, stats.ttft_ms);
    kl::vga::set_color(kl::vga::LightGray);
    draw_status_line(engine, jit_on);
    return stats;
}

void print_stats_line(const Engine& engine, const GenerateStats& stats, bool jit_on)
{
    const auto& cpu = kl::cpu::features();
    char model[96], brand[128];
    kl::json_escape(engine.model_name, model, sizeof(model));
    kl::json_escape(cpu.brand, brand, sizeof(brand));
    char token_ms[160] = "";
    usize used = 0;
    for (u32 i = 0; i < stats.timed_tokens && used < sizeof(token_ms); ++i)
        used += static_cast<usize>(snprintf(token_ms + used, sizeof(token_ms) - used, "%s%.3f", i ? ", " : "",
            static_cast<double>(stats.token_ms[i])));
    serial_line("@stats {\"prompt_tokens\": %u, \"generated_tokens\": %u, \"ttft_ms\": %.3f, \"tok_per_s\": %.2f, "
                "\"total_ms\": %.3f, \"model\": \"%s\", \"cpu\": \"%s\", \"isa\": \"%s\", \"jit\": \"%s\", "
                "\"cores\": %u, \"mem_mb\": %llu, \"stopped\": %s, \"first_token_ms\": [%s]}\n",
        stats.prompt_tokens, stats.generated_tokens, stats.ttft_ms, stats.tok_per_s, stats.total_ms, model, brand,
        console_isa_name(engine, jit_on), jit_on ? "on" : "off", kl::smp::core_count(),
        static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB), stats.stopped ? "true" : "false",
        token_ms);
}

void print_stats_text(const Engine& engine, const GenerateStats& stats, bool jit_on)
{
    const u32 cores = kl::smp::core_count();
    kl::print("last story (%s, micro-JIT %s, isa %s, %u core%s)%s\n", engine.model_name, jit_on ? "on" : "off",
        console_isa_name(engine, jit_on), cores, cores == 1 ? "" : "s", stats.stopped ? ", stopped early" : "");
    kl::print("  prompt      %6u tokens (with BOS), %.1f ms\n", stats.prompt_tokens, stats.prompt_ms);
    kl::print("  generated   %6u tokens at %.2f tok/s\n", stats.generated_tokens, stats.tok_per_s);
    kl::print("  first token %9.3f ms after the start; total %.1f ms\n", stats.ttft_ms, stats.total_ms);
    if (stats.timed_tokens) {
        kl::print("  token times");
        for (u32 i = 0; i < stats.timed_tokens; ++i)
            kl::print(" %.2f", static_cast<double>(stats.token_ms[i]));
        kl::print(" ms\n");
    }
    kl::print("  free memory %6llu MiB\n", static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB));
}

void draw_status_line(const Engine& engine, bool jit_on)
{
    char speed[32] = "-";
    if (engine.has_run)
        snprintf(speed, sizeof(speed), "%.1f tok/s", engine.last.tok_per_s);
    char row[kl::vga::columns + 1];
    const u32 cores = kl::smp::core_count();
    snprintf(row, sizeof(row), " BareFlow | %.24s | micro-JIT %s | %u core%s | last: %s", engine.model_name,
        console_isa_name(engine, jit_on), cores, cores == 1 ? "" : "s", speed);
    kl::vga::write_row(0, row, kl::vga::Black, kl::vga::Cyan);
}

}
