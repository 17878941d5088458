// bareflow-host: the inference engine as a Linux program (../shared/docs/contract.md).
//
//   bareflow-host MODEL [-z TOKENIZER] [-t T] [-p P] [-s SEED] [-n STEPS] [-i PROMPT]
//                 [--jit on|off] [--jit-isa sse2|avx2|avx512] [--mmap]
//   bareflow-host MODEL --tokenize TEXT
//   bareflow-host MODEL --perplexity FILE [--ctx N]
//   bareflow-host MODEL --chat [-i FIRST] [--verbose-prompt] [-t T] [-p P] [-s SEED] [-n REPLY]
//
// stdout carries exactly the text (what ../shared/reference holds); stderr the model
// summary, memory use and statistics. --chat reads user turns from stdin, one a line, and
// answers each on stdout between @reply-begin/@reply-end lines as MODE=chat does on the
// serial port (tinyllama/chat/script.h), its @stats line on stderr. A failure is one line on stderr and the exit status
// is its error code's number. Defaults follow llama2.c's run.c.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/time/tsc.h"
#include "microjit/isa.h"
#include "tinyllama/bench.h"
#include "tinyllama/chat/script.h"
#include "tinyllama/engine.h"
#include "tinyllama/host/arguments.h"
#include "tinyllama/host/load_file.h"
#include "tinyllama/host/model_search.h"
#include "tinyllama/host/perplexity.h"
#include "tinyllama/model.h"

namespace {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using namespace tllama;

constexpr const char* usage_text =
    "usage: bareflow-host MODEL [-z TOKENIZER] [-t T] [-p P] [-s SEED] [-n STEPS] [-i PROMPT]\n"
    "                     [--jit on|off] [--jit-isa sse2|avx2|avx512] [--mmap]\n"
    "       bareflow-host MODEL --tokenize TEXT\n"
    "       bareflow-host MODEL --perplexity FILE [--ctx N]\n"
    "       bareflow-host MODEL --chat [-i FIRST] [--verbose-prompt] [-t T] [-p P] [-s SEED] [-n REPLY]\n"
    "  MODEL       a GGUF file (tokenizer inside), or a llama2.c checkpoint (fp32 or Q8_0): a path,\n"
    "              or a name looked up in ./models and $BAREFLOW_MODEL_PATH\n"
    "  -z FILE     a llama2.c checkpoint's tokenizer (default tokenizer.bin, looked up like MODEL)\n"
    "  -t T        temperature, 0 = greedy (default 1.0)\n"
    "  -p P        top-p in [0, 1], 0 or 1 = off (default 0.9)\n"
    "  -s SEED     random seed (default 0 = from the clock)\n"
    "  -n STEPS    positions to run, 0 = seq_len (default 256)\n"
    "  -i PROMPT   prompt text (default empty)\n"
    "  --jit on|off, --jit-isa sse2|avx2|avx512   micro-JIT controls\n"
    "  --mmap      map the model file instead of reading it into memory backed by 2 MiB pages: no copy\n"
    "              beside the page cache's, but 4 KiB pages (generation ~3 %, prefill up to ~4 % slower)\n"
    "  --profile FILE  warm start: generate the kernels a saved profile chose (scripts/profile-report --save)\n"
    "  --prefill N     prompt tokens per prefill block (default 16; 0 = one token at a time)\n"
    "  --bench RUNS    measure instead of telling: the streaming-read bandwidth, a warm-up, then RUNS timed\n"
    "                  generations of -n tokens from -i (text counted, not printed); @bench/@stats/@profile\n"
    "                  lines on stderr, as the kernel's MODE=bench (scripts/bench-host runs it)\n"
    "  --bench-warmup N  tokens of the warm-up generation (default 48)\n"
    "  --bench-prefill LIST  prefill blocks to measure in turn, e.g. 0,16 (default: --prefill's)\n"
    "  --tokenize TEXT  print TEXT's token ids as the model is fed them (BOS first when the model adds\n"
    "                   it), comma-separated on one line, and exit\n"
    "  --perplexity FILE  the perplexity of FILE's text, computed as llama.cpp's perplexity tool does\n"
    "                   (chunks of --ctx tokens, the second half of each scored); per-chunk figures,\n"
    "                   then \"Final estimate: PPL = X +/- Y\"\n"
    "  --ctx N     the perplexity's chunk length (default: the model's context)\n"
    "  --chat      chat with the model through its chat template: one user turn per line on stdin,\n"
    "              each reply on stdout between @reply-begin and @reply-end lines, @stats on stderr;\n"
    "              -n is a reply's most tokens (0: to the end of the context); lines /system TEXT,\n"
    "              /reset, /temp X, /topp X, /seed N, /steps N, /quit as on the console; -i TEXT\n"
    "              is the first turn (never a command), answered before the lines on stdin;\n"
    "              Ctrl-C stops a reply, and the chat goes on\n"
    "  --verbose-prompt  with --chat: each turn's formatted prompt (special tokens shown) and its\n"
    "              token ids on stderr\n";

struct Options {
    const char* model = nullptr;
    const char* tokenizer = nullptr;  // -z; tokenizer.bin for a llama2.c checkpoint
    float temperature = 1.0f;
    float topp = 0.9f;
    u64 seed = 0;
    i32 steps = 256;
    const char* prompt = "";
    bool jit = true;
    bool mmap = false;  // --mmap: the model mapped, not copied
    const char* jit_isa = nullptr;
    const char* profile = nullptr;
    i32 prefill = default_prefill_block;
    u32 bench_runs = 0;  // 0: tell a story
    u32 bench_warmup = 48;
    u32 bench_prefill[BenchPlan::max_variants] {};
    u32 bench_prefill_count = 0;
    const char* tokenize = nullptr;    // --tokenize TEXT
    const char* perplexity = nullptr;  // --perplexity FILE
    i32 context = 0;                   // --ctx; 0: the model's
    bool chat = false;                 // --chat
    bool verbose_prompt = false;       // --verbose-prompt
};

// "0,16" into up to BenchPlan::max_variants prefill blocks.
ErrorOr<void> parse_prefill_list(Options& o, const char* value)
{
    o.bench_prefill_count = 0;
    const char* p = value;
    for (;;) {
        char item[16] {};
        usize n = 0;
        while (*p && *p != ',' && n + 1 < sizeof(item))
            item[n++] = *p++;
        if (o.bench_prefill_count == BenchPlan::max_variants)
            return Error::make(ErrorCode::UsageError, "--bench-prefill takes at most %u blocks, got '%s'",
                BenchPlan::max_variants, value);
        o.bench_prefill[o.bench_prefill_count++] = static_cast<u32>(TRY(host::parse_whole_argument("--bench-prefill", item, 1024)));
        if (*p != ',')
            break;
        ++p;
    }
    if (*p)
        return Error::make(ErrorCode::UsageError, "--bench-prefill expects numbers separated by commas, got '%s'", value);
    return {};
}

ErrorOr<Options> parse_options(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        if (arg[0] != '-') {
            if (o.model)
                return Error::make(ErrorCode::UsageError, "more than one model given ('%s' and '%s')", o.model, arg);
            o.model = arg;
            continue;
        }
        if (strcmp(arg, "--chat") == 0 || strcmp(arg, "--verbose-prompt") == 0 || strcmp(arg, "--mmap") == 0) {
            (arg[2] == 'c' ? o.chat : arg[2] == 'v' ? o.verbose_prompt : o.mmap) = true;
            continue;
        }
        if (i + 1 >= argc)
            return Error::make(ErrorCode::UsageError, "%s needs a value (see --help)", arg);
        const char* value = argv[++i];
        if (strcmp(arg, "-z") == 0) {
            o.tokenizer = value;
        } else if (strcmp(arg, "-t") == 0) {
            o.temperature = TRY(host::parse_float_argument("-t", value, 0.0f, 1e6f));
        } else if (strcmp(arg, "-p") == 0) {
            o.topp = TRY(host::parse_float_argument("-p", value, 0.0f, 1.0f));
        } else if (strcmp(arg, "-s") == 0) {
            o.seed = TRY(host::parse_whole_argument("-s", value, ~0ull));
        } else if (strcmp(arg, "-n") == 0) {
            o.steps = static_cast<i32>(TRY(host::parse_whole_argument("-n", value, 0x7fffffff)));
        } else if (strcmp(arg, "-i") == 0) {
            o.prompt = value;
        } else if (strcmp(arg, "--jit") == 0) {
            if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
                return Error::make(ErrorCode::UsageError, "--jit expects on or off, got '%s'", value);
            o.jit = strcmp(value, "on") == 0;
        } else if (strcmp(arg, "--profile") == 0) {
            o.profile = value;
        } else if (strcmp(arg, "--bench") == 0) {
            o.bench_runs = static_cast<u32>(TRY(host::parse_whole_argument("--bench", value, 100)));
        } else if (strcmp(arg, "--bench-warmup") == 0) {
            o.bench_warmup = static_cast<u32>(TRY(host::parse_whole_argument("--bench-warmup", value, 1u << 20)));
        } else if (strcmp(arg, "--bench-prefill") == 0) {
            TRY(parse_prefill_list(o, value));
        } else if (strcmp(arg, "--prefill") == 0) {
            o.prefill = static_cast<i32>(TRY(host::parse_whole_argument("--prefill", value, 1024)));
        } else if (strcmp(arg, "--tokenize") == 0) {
            o.tokenize = value;
        } else if (strcmp(arg, "--perplexity") == 0) {
            o.perplexity = value;
        } else if (strcmp(arg, "--ctx") == 0) {
            o.context = static_cast<i32>(TRY(host::parse_whole_argument("--ctx", value, 1 << 20)));
        } else if (strcmp(arg, "--jit-isa") == 0) {
            if (mjit::parse_isa(value).is_error())
                return Error::make(ErrorCode::UsageError, "--jit-isa expects sse2, avx2 or avx512, got '%s'", value);
            o.jit_isa = value;
        } else {
            return Error::make(ErrorCode::UsageError, "unknown option %s (see --help)", arg);
        }
    }
    if (!o.model)
        return Error::make(ErrorCode::UsageError, "no model given (see --help)");
    if (o.tokenize && (o.perplexity || o.bench_runs))
        return Error::make(ErrorCode::UsageError, "--tokenize runs alone (not with --perplexity or --bench)");
    if (o.perplexity && o.bench_runs)
        return Error::make(ErrorCode::UsageError, "--perplexity and --bench are separate runs");
    if (o.chat && (o.tokenize || o.perplexity || o.bench_runs))
        return Error::make(ErrorCode::UsageError, "--chat reads its turns from stdin: not with --tokenize, --perplexity or --bench");
    if (o.verbose_prompt && !o.chat)
        return Error::make(ErrorCode::UsageError, "--verbose-prompt shows --chat's prompts: give --chat too");
    if (o.context && !o.perplexity)
        return Error::make(ErrorCode::UsageError, "--ctx is the perplexity's chunk length: give --perplexity FILE too");
    // The engine's prefill slots are made for --prefill's block (as the kernel's settings say).
    for (u32 i = 0; i < o.bench_prefill_count; ++i)
        if (o.bench_prefill[i] > 1 && static_cast<i32>(o.bench_prefill[i]) != o.prefill)
            return Error::make(ErrorCode::UsageError,
                "--bench-prefill %u is neither 0 (token by token) nor the prefill block %d; give --prefill %u too",
                o.bench_prefill[i], o.prefill, o.bench_prefill[i]);
    return o;
}

void write_stdout(void*, const char* bytes, usize length)
{
    fwrite(bytes, 1, length, stdout);
    fflush(stdout);  // stream the story as it is told
}

void write_stdout_line(void*, const char* line) { write_stdout(nullptr, line, strlen(line)); }

// The files run() maps, unmapped whichever way it leaves (after the engine, whose weights
// are views into them).
struct Files {
    host::FileBuffer model, tokenizer, profile, text;
    ~Files()
    {
        host::free_file(text);
        host::free_file(profile);
        host::free_file(tokenizer);
        host::free_file(model);
    }
};

// The engine, deleted whichever way run() leaves.
struct EngineHandle {
    Engine* engine = nullptr;
    ~EngineHandle() { Engine::close(engine); }
};

ErrorOr<EngineOptions> engine_options(const Options& o, Files& files, const char* model_path)
{
    EngineOptions e;
    e.model_name = model_path;
    e.prefill_block = o.prefill;
    e.jit.enabled = o.jit;
    if (o.jit_isa)
        e.jit.isa_cap = mjit::parse_isa(o.jit_isa).value();
    e.temperature = o.temperature;
    e.topp = o.topp;
    e.seed = o.seed;
    if (e.seed == 0) {
        e.seed = static_cast<u64>(time(nullptr));
        if (o.temperature > 0.0f && !o.tokenize && !o.perplexity)  // only sampling draws
            fprintf(stderr, "seed %llu (from the clock; pass -s to repeat this run)\n", static_cast<unsigned long long>(e.seed));
    }
    if (o.profile) {
        files.profile = TRY(host::load_file(o.profile, "profile"));
        e.profile = reinterpret_cast<const char*>(files.profile.data);
        e.profile_size = files.profile.size;
    }
    return e;
}

ErrorOr<void> bench(Engine& engine, const Options& o)
{
    BenchPlan plan;
    plan.prompt = o.prompt;
    plan.steps = static_cast<u32>(o.steps);
    plan.runs = o.bench_runs;
    plan.warmup = o.bench_warmup;
    plan.cores_count = 1;
    plan.prefill_count = o.bench_prefill_count ? o.bench_prefill_count : 1;
    for (u32 i = 0; i < plan.prefill_count; ++i)
        plan.prefill[i] = o.bench_prefill_count ? o.bench_prefill[i] : static_cast<u32>(o.prefill);
    const int status = run_bench(engine, plan);
    if (status != 0)
        return Error::make(ErrorCode::InvalidArgument, "the benchmark failed (status %d, see above)", status);
    return {};
}

// A GGUF file carries its tokenizer; a llama2.c checkpoint takes -z (tokenizer.bin by default).
ErrorOr<void> load_tokenizer(const Options& o, Files& files)
{
    if (is_gguf(files.model.data, files.model.size)) {
        if (o.tokenizer)
            fprintf(stderr, "-z %s ignored: the GGUF file carries its own tokenizer\n", o.tokenizer);
        return {};
    }
    const host::FoundFile path = TRY(host::find_model_file(o.tokenizer ? o.tokenizer : "tokenizer.bin", host::FileKind::Tokenizer));
    files.tokenizer = TRY(host::load_file(path.path, "tokenizer"));
    return {};
}

// --tokenize: the ids on one line, comma-separated.
ErrorOr<void> print_tokens(const Engine& engine, const char* text)
{
    host::TokenList tokens = TRY(host::tokenize_text(engine.tokenizer(), text, strlen(text)));
    for (u32 i = 0; i < tokens.count; ++i)
        printf("%s%d", i ? ", " : "", tokens.ids[i]);
    printf("\n");
    kl::mem::release(tokens.ids);
    return {};
}

struct PerplexityClock {
    timespec start;
};

double seconds_since(const timespec& start)
{
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<double>(now.tv_sec - start.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec - start.tv_nsec);
}

// llama.cpp's progress: "[1]12.3456,[2]..." on stdout, the time per chunk and ETA once.
void print_chunk(void* context, u32 chunk, u32 chunks, const host::NllSum& sum)
{
    const PerplexityClock& clock = *static_cast<const PerplexityClock*>(context);
    if (chunk == 0) {
        const double seconds = seconds_since(clock.start);
        fprintf(stderr, "perplexity: %.2f seconds per chunk - ETA %.1f minutes\n", seconds,
            seconds * (chunks - 1) / 60.0);
    }
    printf("[%u]%.4f,", chunk + 1, sum.perplexity());
    fflush(stdout);
}

ErrorOr<void> print_perplexity(Engine& engine, const Options& o, Files& files)
{
    files.text = TRY(host::load_file(o.perplexity, "text"));
    host::TokenList tokens = TRY(host::tokenize_text(engine.tokenizer(),
        reinterpret_cast<const char*>(files.text.data), files.text.size));
    const i32 context = o.context ? o.context : engine.transformer().config.seq_len;
    fprintf(stderr, "perplexity: %u tokens, %u chunks of %d tokens\n", tokens.count,
        tokens.count / static_cast<u32>(context > 0 ? context : 1), context);
    PerplexityClock clock;
    clock_gettime(CLOCK_MONOTONIC, &clock.start);
    auto sum = host::perplexity(engine.transformer(), engine.tokenizer(), tokens, context, { print_chunk, &clock });
    kl::mem::release(tokens.ids);
    if (sum.is_error())
        return sum.release_error();
    printf("\n");
    const double uncertainty = sum.value().uncertainty();
    if (uncertainty > 0.0)
        printf("Final estimate: PPL = %.4f +/- %.5f\n", sum.value().perplexity(), uncertainty);
    else
        printf("Final estimate: PPL = %.4f\n", sum.value().perplexity());
    return {};
}

// --verbose-prompt: what a turn rendered, special tokens as their pieces, and its ids.
void print_rendered(void*, const chat::Conversation& c)
{
    const kl::StringView text = c.rendered_text();
    fprintf(stderr, "@prompt positions %u..%u%s:\n%.*s\n@prompt-ids", c.rendered_from(), c.used(),
        c.dropped() ? " (old turns dropped: the conversation rendered again)" : "", static_cast<int>(text.length),
        text.data);
    for (u32 p = c.rendered_from(); p < c.used(); ++p)
        fprintf(stderr, "%s%d", p == c.rendered_from() ? " " : ", ", c.history()[p]);
    fprintf(stderr, "\n");
}

void print_stats(const Engine& engine, const GenerateStats& stats)
{
    char summary[160], json[1024];
    engine.stats_summary(stats, summary, sizeof(summary));
    engine.stats_json(stats, json, sizeof(json));
    fprintf(stderr, "%s; prompt %u tokens in %.1f ms; total %.1f ms\n@stats %s\n", summary, stats.prompt_tokens,
        stats.prompt_ms, stats.total_ms, json);
}

// --chat: Ctrl-C while a reply is written stops that reply, and the chat goes on with the
// next line (as on the console); at any other time it ends the program as usual.
volatile sig_atomic_t g_reply_interrupted = 0;
void interrupt_reply(int) { g_reply_interrupted = 1; }
bool reply_interrupted(void*) { return g_reply_interrupted != 0; }

// One line (or the -i turn) with Ctrl-C stopping its reply.
ErrorOr<chat::ScriptStep> run_interruptible(chat::Script& script, const char* text, bool as_message, GenerateStats& stats)
{
    g_reply_interrupted = 0;
    signal(SIGINT, interrupt_reply);
    auto step = as_message ? chat::run_script_message(script, text, stats) : chat::run_script_line(script, text, stats);
    signal(SIGINT, SIG_DFL);
    return step;
}

// What the turns of a --chat came to: the failures (reported as they happen), and the
// first one's code, the exit status.
struct ChatFailures {
    u32 count = 0;
    ErrorCode first_code = ErrorCode::UsageError;
};

// One turn: a line from stdin, or (as_message) -i TEXT, which is never a command. A turn
// that fails is reported and counted, and the chat goes on. False once /quit came.
bool chat_step(Engine& engine, chat::Script& script, const char* text, bool as_message, ChatFailures& failures)
{
    GenerateStats stats {};
    auto step = run_interruptible(script, text, as_message, stats);
    if (step.is_error()) {
        fprintf(stderr, "bareflow-host: error (%s): %s\n", step.error().code_name(), step.error().message());
        if (failures.count++ == 0)
            failures.first_code = step.error().code();
        return true;
    }
    if (step.value() == chat::ScriptStep::Replied)
        print_stats(engine, stats);
    return step.value() != chat::ScriptStep::Quit;
}

// --chat: -i TEXT as the first turn, then the turns on stdin. The exit status is the first
// failure's.
ErrorOr<void> chat_loop(Engine& engine, const Options& o)
{
    char note[256];
    chat::describe_chat(engine, note, sizeof(note));
    fprintf(stderr, "%s\n", note);
    engine.conversation().keep_text(o.verbose_prompt);
    chat::Script script { engine, static_cast<u32>(o.steps), { write_stdout, nullptr, reply_interrupted },
        write_stdout_line };
    if (o.verbose_prompt)
        script.rendered = print_rendered;
    ChatFailures failures;
    bool go_on = o.prompt[0] == 0 || chat_step(engine, script, o.prompt, true, failures);
    char* line = nullptr;
    size_t capacity = 0;
    ssize_t length = 0;
    while (go_on && (length = getline(&line, &capacity, stdin)) >= 0) {
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
            line[--length] = 0;
        go_on = chat_step(engine, script, line, false, failures);
    }
    free(line);
    if (ferror(stdout) || fflush(stdout) != 0)
        return Error::make(ErrorCode::IoWrite, "writing the replies to stdout failed: %s", strerror(errno));
    if (failures.count)
        return Error::make(failures.first_code, "%u line%s of the chat failed (see above)", failures.count,
            failures.count == 1 ? "" : "s");
    return {};
}

ErrorOr<void> run(const Options& o)
{
    Files files;
    const host::FoundFile model_path = TRY(host::find_model_file(o.model, host::FileKind::Model));
    files.model = TRY(host::load_file(model_path.path, "model", o.mmap ? host::Placement::Mapped : host::Placement::Copied));
    TRY(load_tokenizer(o, files));
    const EngineOptions options = TRY(engine_options(o, files, model_path.path));
    EngineHandle handle;
    handle.engine = TRY(Engine::open(files.model.data, files.model.size, files.tokenizer.data, files.tokenizer.size,
        options));
    Engine& engine = *handle.engine;
    if (o.bench_runs)
        return bench(engine, o);
    if (o.tokenize)
        return print_tokens(engine, o.tokenize);
    if (o.perplexity)
        return print_perplexity(engine, o, files);
    if (o.chat)
        return chat_loop(engine, o);

    TextSink sink { write_stdout, nullptr };
    const GenerateStats stats = TRY(engine.generate(o.prompt, o.steps, sink));
    if (ferror(stdout) || fflush(stdout) != 0)
        return Error::make(ErrorCode::IoWrite, "writing the text to stdout failed: %s", strerror(errno));
    print_stats(engine, stats);
    engine.report(stats.total_ms * 1e-3 * static_cast<double>(kl::time::tsc_hz()));
    return {};
}

}

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
    }
    auto options = parse_options(argc, argv);
    if (options.is_error()) {
        fprintf(stderr, "bareflow-host: error (%s): %s\n", options.error().code_name(), options.error().message());
        return options.error().exit_status();
    }
    auto result = run(options.value());
    if (result.is_error()) {
        fprintf(stderr, "bareflow-host: error (%s): %s\n", result.error().code_name(), result.error().message());
        return result.error().exit_status();
    }
    return 0;
}
