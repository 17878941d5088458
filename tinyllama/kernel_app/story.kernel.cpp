// The engine in the kernel (see story.h).
#include "tinyllama/kernel_app/story.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/debug/report.h"
#include "kernel_lib/io/console_input.h"
#include "kernel_lib/io/machine.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/time/tsc.h"
#include "tinyllama/chat/script.h"

namespace tllama {

namespace {

constexpr kl::vga::Color prompt_color = kl::vga::Yellow;
constexpr kl::vga::Color story_color = kl::vga::White;
constexpr kl::vga::Color note_color = kl::vga::DarkGray;
constexpr kl::vga::Color reply_color = kl::vga::LightGreen;

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
    auto count = encode(engine.tokenizer(), prompt, length, true, false, tokens, encode_capacity(length));
    kl::mem::release(tokens);
    return count.is_error() || count.value() == 0 ? 0 : count.value() - 1;
}

// The @stats line, and the summary people read in the note colour (red when stopped).
void finish_run(const Engine& engine, const GenerateStats& stats)
{
    write_stats_line(engine, stats);
    char summary[128];
    engine.stats_summary(stats, summary, sizeof(summary));
    kl::vga::set_color(stats.stopped ? kl::vga::LightRed : note_color);
    kl::print("%s (/stats for more)\n", summary);
    kl::vga::set_color(kl::vga::LightGray);
}

void write_reply(void*, const char* bytes, usize length)
{
    kl::vga::set_color(reply_color);
    kl::serial::write(bytes, length);
    kl::vga::write(bytes, length);
}

void write_machine_line(void*, const char* line) { serial_line("%s", line); }

bool reply_stop(void* context)
{
    const auto* stop = static_cast<const StoryStop*>(context);
    return stop->requested && stop->requested(stop->context);
}

chat::Script reply_script(Engine& engine, u32 max_reply, StoryStop& stop)
{
    return { engine, max_reply, { write_reply, &stop, reply_stop }, write_machine_line };
}

// One line from the serial port (or the keyboard), without echo: false on Ctrl-D. A line
// longer than the buffer is refused whole.
bool read_script_line(char* line, usize capacity)
{
    usize length = 0;
    bool overflow = false;
    for (;;) {
        const kl::input::KeyEvent e = kl::input::wait_key();
        if (e.key == kl::input::Key::EndOfInput)
            return false;
        if (e.key == kl::input::Key::Char) {
            overflow |= length + 1 == capacity;
            if (!overflow)
                line[length++] = static_cast<char>(e.ch);
        } else if (e.key == kl::input::Key::Enter) {
            line[length] = 0;
            if (!overflow)
                return true;
            kl::report_error(kl::ErrorCode::PromptTooLong, "chat: a line is longer than 4 KiB: send a shorter one");
            length = 0;
            overflow = false;
        }
    }
}

}

kl::ErrorOr<Engine*> open_engine(const kl::boot::BootInfo& info, const BootSettings& settings)
{
    auto model = TRY(kl::boot::find_payload(info, "model"));
    // A GGUF model carries its vocabulary; a llama2.c checkpoint comes with a tokenizer payload.
    kl::boot::PayloadView tokenizer {};
    if (kl::boot::has_payload(info, "tokenizer"))
        tokenizer = TRY(kl::boot::find_payload(info, "tokenizer"));
    EngineOptions options;
    options.model_name = settings.model_name[0] ? settings.model_name : "model";
    options.prefill_block = static_cast<i32>(settings.prefill);
    options.jit.enabled = settings.jit;
    options.jit.isa_cap = settings.jit_isa_cap;
    options.jit.hot_calls = settings.jit_hot_calls;
    options.jit.hot_cycles = settings.jit_hot_cycles;
    options.temperature = settings.temperature;
    options.topp = settings.topp;
    options.seed = settings.seed_given ? settings.seed : (kl::time::rdtsc() | 1);
    if (!settings.seed_given)
        kl::print("seed %llu (from the TSC; set SEED= to repeat this story)\n",
            static_cast<unsigned long long>(options.seed));
    if (kl::boot::has_payload(info, "profile")) {
        auto profile = TRY(kl::boot::find_payload(info, "profile"));
        options.profile = reinterpret_cast<const char*>(profile.data);
        options.profile_size = profile.size;
    }
    Engine* engine = TRY(Engine::open(model.data, model.size, tokenizer.data, tokenizer.size, options));
    kl::print("free memory after loading: %llu MiB\n",
        static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB));
    return engine;
}

kl::ErrorOr<GenerateStats> tell_story(Engine& engine, const char* prompt, u32 steps, const StoryStop& stop)
{
    ColoredSink state;
    state.prompt_pieces = prompt_piece_count(engine, prompt);
    state.stop = stop;
    TextSink sink { write_piece, &state, stop_requested };

    // Each story gets its own profile, so the report and its overhead figure describe one run.
    engine.reset_profile();
    serial_line("@text-begin\n");
    auto result = engine.generate(prompt, static_cast<i32>(steps), sink);
    kl::vga::set_color(kl::vga::LightGray);
    if (result.is_error())
        return result.release_error();
    const GenerateStats stats = result.release_value();
    serial_line("@text-end\n");
    finish_run(engine, stats);
    return stats;
}

kl::ErrorOr<GenerateStats> chat_turn(Engine& engine, const char* text, u32 max_reply, const StoryStop& stop)
{
    StoryStop copy = stop;
    chat::Script script = reply_script(engine, max_reply, copy);
    engine.reset_profile();
    auto result = chat::answer_turn(script, text);
    kl::vga::set_color(kl::vga::LightGray);
    if (!result.is_error())
        finish_run(engine, result.value());
    return result;
}

namespace {

// One step of MODE=chat: a line from the serial port, or (as_message) the PROMPT= setting,
// which is always a user turn. False once /quit came.
bool chat_mode_step(Engine& engine, chat::Script& script, const char* text, bool as_message)
{
    GenerateStats stats {};
    engine.reset_profile();
    auto step = as_message ? chat::run_script_message(script, text, stats) : chat::run_script_line(script, text, stats);
    kl::vga::set_color(kl::vga::LightGray);
    if (step.is_error())
        kl::report_error(step.error().code(), step.error().message());
    else if (step.value() == chat::ScriptStep::Quit)
        return false;
    else if (step.value() == chat::ScriptStep::Replied)
        finish_run(engine, stats);
    return true;
}

}

void run_chat_mode(Engine& engine, const BootSettings& settings)
{
    char note[256];
    chat::describe_chat(engine, note, sizeof(note));
    kl::print("%s\n", note);
    StoryStop no_stop;
    chat::Script script = reply_script(engine, settings.steps, no_stop);
    bool more = !settings.prompt[0] || chat_mode_step(engine, script, settings.prompt, true);
    static char line[4096];
    while (more) {
        // The UART holds only 16 bytes while a reply is computed: a driver sends a line when asked.
        serial_line("@chat-ready\n");
        more = read_script_line(line, sizeof(line)) && chat_mode_step(engine, script, line, false);
    }
    kl::machine::exit(0);
}

void write_stats_line(const Engine& engine, const GenerateStats& stats)
{
    char json[1024];
    engine.stats_json(stats, json, sizeof(json));
    serial_line("@stats %s\n", json);
}

void print_stats_text(const Engine& engine, const GenerateStats& stats)
{
    const u32 cores = kl::smp::core_count();
    kl::print("last story (%s, micro-JIT %s, isa %s, %u core%s)%s\n", engine.model_name(),
        engine.jit().on() ? "on" : "off", engine.jit().isa_name(), cores, cores == 1 ? "" : "s",
        stats.stopped ? ", stopped early" : "");
    kl::print("  prompt      %6u tokens (with BOS), %.1f ms\n", stats.prompt_tokens, stats.prompt_ms);
    kl::print("  generated   %6u tokens at %.2f tok/s\n", stats.generated_tokens, stats.tok_per_s);
    kl::print("  first token %9.3f ms after the start (%.1f ms of it the micro-JIT at work); total %.1f ms\n",
        stats.ttft_ms, stats.tuning_ms, stats.total_ms);
    if (stats.timed_tokens) {
        kl::print("  token times");
        for (u32 i = 0; i < stats.timed_tokens; ++i)
            kl::print(" %.2f", static_cast<double>(stats.token_ms[i]));
        kl::print(" ms\n");
    }
    kl::print("  free memory %6llu MiB\n", static_cast<unsigned long long>(kl::mem::available_bytes() / kl::MiB));
}

}
