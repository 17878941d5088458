// The interactive console's loop (see console.h).
#include "tinyllama/kernel_app/console.h"

#include <stdarg.h>
#include <stdio.h>

#include "kernel_lib/io/console_input.h"
#include "kernel_lib/io/line_editor.h"
#include "kernel_lib/io/machine.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/io/vga.h"
#include "kernel_lib/debug/report.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/time/tsc.h"
#include "tinyllama/kernel_app/console_commands.h"
#include "tinyllama/kernel_app/jit_dump.h"
#include "tinyllama/kernel_app/story.h"

namespace tllama {

namespace {

using kl::input::Key;
using kl::input::KeyEvent;
using kl::input::LineEditor;

// Bright cyan prompt, typed text in bright white; the colours are ANSI so that the line
// editor's redraws repeat them (the VGA console interprets the same sequences).
constexpr const char* prompt_text = "\x1b[96mbareflow>\x1b[97m ";
constexpr const char* chat_prompt_text = "\x1b[96myou>\x1b[97m ";
constexpr const char* plain = "\x1b[0m";

// Keys typed while a story runs that are not Ctrl-C/Esc: kept for the next prompt.
class TypeAhead {
public:
    void push(KeyEvent e)
    {
        if (m_count < capacity)
            m_keys[(m_head + m_count++) % capacity] = e;
    }
    bool pop(KeyEvent& e)
    {
        if (m_count == 0)
            return false;
        e = m_keys[m_head];
        m_head = (m_head + 1) % capacity;
        --m_count;
        return true;
    }

private:
    static constexpr u32 capacity = 128;
    KeyEvent m_keys[capacity] {};
    u32 m_head = 0;
    u32 m_count = 0;
};

struct Console {
    Engine* engine = nullptr;
    u32 steps = 256;
    bool dump = false;          // jit_dump=on
    u64 last_poll = 0;
    GenerateStats last {};      // the last story's figures
    bool has_run = false;
    bool chat = false;          // a line is a user turn (the model has a chat template)
    LineEditor editor;
    TypeAhead typeahead;
};

// The top screen row: model, ISA, JIT state, cores, in chat mode the context the
// conversation fills, the last run's speed.
void draw_status_line(const Console& c)
{
    char speed[32] = "-", context[32] = "";
    if (c.has_run)
        snprintf(speed, sizeof(speed), "%.1f tok/s", c.last.tok_per_s);
    const chat::Conversation& conversation = c.engine->conversation();
    if (c.chat)
        snprintf(context, sizeof(context), " | ctx %u/%u", conversation.used(), conversation.context());
    char row[kl::vga::columns + 1];
    const u32 cores = kl::smp::core_count();
    snprintf(row, sizeof(row), " BareFlow | %.20s | JIT %s | %u core%s%s | last: %s", c.engine->model_name(),
        c.engine->jit().isa_name(), cores, cores == 1 ? "" : "s", context, speed);
    kl::vga::write_row(0, row, kl::vga::Black, kl::vga::Cyan);
}

void editor_output(void*, const char* bytes, usize length) { kl::write(bytes, length); }

// Polled after every token: a few milliseconds between polls keep the port reads (each a
// VM exit under a hypervisor) out of the token rate.
bool stop_requested(void* context)
{
    auto* c = static_cast<Console*>(context);
    const u64 now = kl::time::rdtsc();
    if (c->last_poll != 0 && kl::time::cycles_to_ms(now - c->last_poll) < 5.0)
        return false;
    c->last_poll = now;
    KeyEvent e;
    while (kl::input::poll_key(e)) {
        if (e.key == Key::Interrupt || e.key == Key::Escape)
            return true;
        c->typeahead.push(e);
    }
    return false;
}

void note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char* fmt, ...)
{
    kl::vga::set_color(kl::vga::LightCyan);
    va_list args;
    va_start(args, fmt);
    kl::vprint(fmt, args);
    va_end(args);
    kl::vga::set_color(kl::vga::LightGray);
}

void complain(const char* message)
{
    kl::vga::set_color(kl::vga::LightRed);
    kl::print("error: %s\n", message);
    kl::vga::set_color(kl::vga::LightGray);
}

// A story, or in chat mode the user's turn and its reply.
void tell(Console& c, const char* prompt)
{
    c.last_poll = 0;
    StoryStop stop { stop_requested, &c };
    auto result = c.chat ? chat_turn(*c.engine, prompt, c.steps, stop) : tell_story(*c.engine, prompt, c.steps, stop);
    if (result.is_error()) {
        kl::report_error(result.error().code(), result.error().message());  // @error, and the console goes on
    } else {
        c.last = result.value();
        c.has_run = true;
        draw_status_line(c);
    }
    if (c.dump)
        flush_jit_dump(*c.engine);
}

void show_help()
{
    note("Type a message (chat mode) or the first words of a story (story mode) and Enter, or a command:\n");
    kl::print("%s", command_help());
    kl::print("Editing: arrows, Home/End (Ctrl-A/E), Ctrl-U, Ctrl-W, Up/Down for history; lines up to %zu bytes.\n",
        LineEditor::max_line);
}

void show_profile(Console& c)
{
    if (!c.has_run)
        note("no story yet: the table below is empty until one is told\n");
    c.engine->report(c.has_run ? c.last.total_ms * 1e-3 * static_cast<double>(kl::time::tsc_hz()) : 0.0);
}

void switch_jit(Console& c, const Command& command)
{
    EngineJit& jit = c.engine->jit();
    if (!command.has_value) {
        note("micro-JIT %s (isa %s)\n", jit.on() ? "on" : "off", jit.isa_name());
        return;
    }
    if (command.on == jit.on()) {
        note("micro-JIT is already %s\n", jit.on() ? "on" : "off");
        return;
    }
    auto switched = jit.set_on(command.on);
    if (switched.is_error()) {
        complain("the image was built with JIT=off, so the micro-JIT cannot start here; rebuild with JIT=on");
        return;
    }
    if (command.on)
        note("micro-JIT on (isa %s): default kernels again, hot ones tuned during the next stories\n", jit.isa_name());
    else
        note("micro-JIT off: every kernel is the reference (tier 0) until /jit on\n");
    draw_status_line(c);
}

void set_seed(Console& c, u64 seed)
{
    const u64 value = seed != 0 ? seed : (kl::time::rdtsc() | 1);
    c.engine->reseed(value);
    note("seed %llu%s: the sampler's RNG starts again from it\n", static_cast<unsigned long long>(value),
        seed == 0 ? " (from the TSC)" : "");
}

// /system, /reset, /chat.
void chat_command(Console& c, const Command& command)
{
    chat::Conversation& conversation = c.engine->conversation();
    if (command.kind == CommandKind::Reset) {
        conversation.reset();
        note("a new conversation\n");
    } else if (command.kind == CommandKind::System) {
        if (command.has_value) {
            auto set = conversation.set_system(command.prompt);
            if (set.is_error())
                return complain(set.error().message());
        }
        note("system prompt: %s%s\n", conversation.system()[0] ? conversation.system() : "(none)",
            command.has_value ? " (a new conversation)" : "");
    } else if (command.has_value) {
        if (command.on && c.engine->chat_family() == chat::Family::None)
            return complain(c.engine->chat_why());
        c.chat = command.on;
    }
    if (command.kind == CommandKind::Chat)
        note("%s mode\n", c.chat ? "chat" : "story");
    draw_status_line(c);
}

// Runs one parsed line.
void execute(Console& c, const Command& command)
{
    Engine& e = *c.engine;
    const i32 seq_len = e.transformer().config.seq_len;
    switch (command.kind) {
    case CommandKind::Nothing: return;
    case CommandKind::Story: tell(c, command.prompt); return;
    case CommandKind::Help: show_help(); return;
    case CommandKind::Temp:
        if (command.has_value)
            e.set_temperature(command.number);
        note("temperature %g%s\n", static_cast<double>(e.temperature()), e.temperature() == 0.0f ? " (greedy)" : "");
        return;
    case CommandKind::Topp:
        if (command.has_value)
            e.set_topp(command.number);
        note("top-p %g%s\n", static_cast<double>(e.topp()),
            e.topp() <= 0.0f || e.topp() >= 1.0f ? " (the whole distribution)" : "");
        return;
    case CommandKind::Seed:
        if (command.has_value)
            set_seed(c, command.integer);
        else
            note("seed %llu\n", static_cast<unsigned long long>(e.seed()));
        return;
    case CommandKind::Steps:
        if (command.has_value)
            c.steps = static_cast<u32>(command.integer);
        if (c.steps == 0 || c.steps > static_cast<u32>(seq_len))
            note("steps %u: stories run to the model's context, %d tokens\n", c.steps, seq_len);
        else
            note("steps %u\n", c.steps);
        return;
    case CommandKind::Stats:
        if (!c.has_run) {
            note("no story yet\n");
            return;
        }
        print_stats_text(e, c.last);
        write_stats_line(e, c.last);
        return;
    case CommandKind::Profile: show_profile(c); return;
    case CommandKind::Jit: switch_jit(c, command); return;
    case CommandKind::Clear:
        kl::print("\x1b[2J\x1b[H");
        draw_status_line(c);
        return;
    case CommandKind::Reboot:
        note("rebooting\n");
        kl::machine::reboot();
    case CommandKind::Quit:
        note("bye\n");
        kl::machine::exit(0);
    case CommandKind::System:
    case CommandKind::Reset:
    case CommandKind::Chat: chat_command(c, command); return;
    }
}

// Reads one line (type-ahead first). False on Ctrl-D at an empty line.
bool read_line(Console& c)
{
    const char* prompt = c.chat ? chat_prompt_text : prompt_text;
    c.editor.begin(prompt, editor_output, nullptr);
    KeyEvent e;
    for (;;) {
        if (!c.typeahead.pop(e))
            e = kl::input::wait_key();
        switch (c.editor.feed(e)) {
        case LineEditor::Result::Editing: continue;
        case LineEditor::Result::Submitted: kl::print("%s", plain); return true;
        case LineEditor::Result::Interrupted:
            kl::print("%s", plain);
            c.editor.begin(prompt, editor_output, nullptr);
            continue;
        case LineEditor::Result::EndOfInput: kl::print("%s", plain); return false;
        }
    }
}

}

void run_console(Engine& engine, const BootSettings& settings)
{
    // On the heap: the line editor holds a line buffer and the history.
    Console& c = *new Console();
    c.engine = &engine;
    c.steps = settings.steps;
    c.dump = settings.jit_dump;
    if (c.dump)
        start_jit_dump();

    c.chat = engine.chat_family() != chat::Family::None;
    kl::vga::set_scroll_top(1);
    draw_status_line(c);
    if (c.chat)
        note("\nBareFlow console, chat mode (template %s): type a message, or /help. Ctrl-C stops a reply.\n",
            chat::family_name(engine.chat_family()));
    else
        note("\nBareFlow console: type the first words of a story, or /help. Ctrl-C stops it.\n(no chat mode: %s)\n",
            engine.chat_why());
    if (settings.prompt[0]) {
        kl::print("%s%s%s\n", prompt_text, settings.prompt, plain);
        tell(c, settings.prompt);
    }
    for (;;) {
        if (!read_line(c)) {
            note("bye\n");
            kl::machine::exit(0);
        }
        auto command = parse_command(c.editor.line());
        if (command.is_error())
            complain(command.error().message());
        else
            execute(c, command.value());
    }
}

}
