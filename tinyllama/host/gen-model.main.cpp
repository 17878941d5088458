// gen-model: writes a checkpoint of a well-known shape with deterministic random weights,
// as a llama2.c .bin or as a llama GGUF, or converts a llama2.c checkpoint to GGUF.
//
//   gen-model --shape stories260K|stories15M|stories42M|stories110M|tinyllama-1.1b
//             [--q8] [--seed N] [--seq-len N] OUT
//   gen-model --shape S --gguf [--type T] [--tokenizer FILE] [--chat-template NAME]
//             [--seed N] [--seq-len N] OUT
//   gen-model --from CHECKPOINT.bin --tokenizer FILE --gguf [--type T] [--chat-template NAME] OUT
//
// T: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k q4_k_m (default f32);
// chat templates: tinyllama, chatml, llama2. The GGUF's tokenizer is tokenizer.bin's (or
// tok512.bin for stories260K) unless --tokenizer names one. The file is written to
// OUT.partial and renamed to OUT when complete, so OUT is never a truncated model; a
// write error (disk full) removes the partial file and exits with io.write's status.
// Progress goes to stderr. scripts/gen-model wraps it.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "kernel_lib/time/tsc.h"
#include "tinyllama/host/arguments.h"
#include "tinyllama/host/gguf_model.h"
#include "tinyllama/host/load_file.h"
#include "tinyllama/host/model_search.h"
#include "tinyllama/host/random_model.h"

namespace {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using namespace tllama;

struct Options {
    const tools::ModelShape* shape = nullptr;
    const char* from = nullptr;       // a llama2.c checkpoint to convert
    bool q8 = false;
    bool gguf = false;
    const tools::GgufType* type = nullptr;
    const char* tokenizer = nullptr;
    const char* chat_template = nullptr;
    u64 seed = tools::default_seed;
    i32 seq_len = 0;  // 0: the shape's own
    const char* out = nullptr;
};

constexpr const char* usage =
    "usage: gen-model --shape %s [--q8] [--seed N] [--seq-len N] OUT\n"
    "       gen-model --shape S --gguf [--type T] [--tokenizer FILE] [--chat-template tinyllama|chatml|llama2] [--seed N] "
    "[--seq-len N] OUT\n"
    "       gen-model --from CHECKPOINT.bin --tokenizer FILE --gguf [--type T] [--chat-template NAME] OUT\n"
    "       T: %s";

ErrorOr<Options> parse_options(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        if (strcmp(arg, "--q8") == 0) {
            o.q8 = true;
        } else if (strcmp(arg, "--gguf") == 0) {
            o.gguf = true;
        } else if (arg[0] != '-') {
            if (o.out)
                return Error::make(ErrorCode::UsageError, "more than one output file given ('%s' and '%s')", o.out, arg);
            o.out = arg;
        } else if (i + 1 >= argc) {
            return Error::make(ErrorCode::UsageError, "%s needs a value", arg);
        } else if (strcmp(arg, "--shape") == 0) {
            o.shape = tools::find_shape(argv[++i]);
            if (!o.shape)
                return Error::make(ErrorCode::UsageError, "unknown shape '%s', expected one of %s", argv[i], tools::shape_names());
        } else if (strcmp(arg, "--type") == 0) {
            o.type = tools::find_gguf_type(argv[++i]);
            if (!o.type)
                return Error::make(ErrorCode::UsageError, "unknown --type '%s', expected one of %s", argv[i], tools::gguf_type_names());
        } else if (strcmp(arg, "--from") == 0) {
            o.from = argv[++i];
        } else if (strcmp(arg, "--tokenizer") == 0) {
            o.tokenizer = argv[++i];
        } else if (strcmp(arg, "--chat-template") == 0) {
            o.chat_template = tools::find_chat_template(argv[++i]);
            if (!o.chat_template)
                return Error::make(ErrorCode::UsageError, "unknown --chat-template '%s', expected tinyllama, chatml or llama2", argv[i]);
        } else if (strcmp(arg, "--seed") == 0) {
            o.seed = TRY(host::parse_whole_argument("--seed", argv[++i], ~0ull));
        } else if (strcmp(arg, "--seq-len") == 0) {
            o.seq_len = static_cast<i32>(TRY(host::parse_whole_argument("--seq-len", argv[++i], max_seq_len)));
        } else {
            return Error::make(ErrorCode::UsageError, "unknown option %s", arg);
        }
    }
    if ((!o.shape == !o.from) || !o.out)
        return Error::make(ErrorCode::UsageError, usage, tools::shape_names(), tools::gguf_type_names());
    if (!o.gguf && (o.from || o.type || o.tokenizer || o.chat_template))
        return Error::make(ErrorCode::UsageError, "--from, --type, --tokenizer and --chat-template need --gguf");
    if (o.gguf && o.q8)
        return Error::make(ErrorCode::UsageError, "--q8 writes a llama2.c checkpoint; for GGUF use --type q8_0");
    if (o.from && !o.tokenizer)
        return Error::make(ErrorCode::UsageError, "--from needs --tokenizer (the checkpoint's tokenizer.bin)");
    if (o.gguf && !o.type)
        o.type = tools::find_gguf_type("f32");
    return o;
}

// Writes chunks to a file descriptor and reports progress every 5%.
struct FileWriter {
    int fd;
    const char* path;
    u64 total;
    u64 written = 0;
    int last_percent = -1;
};

ErrorOr<void> write_chunk(void* context, const void* bytes, usize length)
{
    auto& w = *static_cast<FileWriter*>(context);
    const u8* p = static_cast<const u8*>(bytes);
    while (length > 0) {
        const ssize_t n = write(w.fd, p, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return Error::make(ErrorCode::IoWrite, "writing %s failed after %llu bytes: %s", w.path,
                static_cast<unsigned long long>(w.written), n < 0 ? strerror(errno) : "no progress");
        p += n;
        length -= static_cast<usize>(n);
        w.written += static_cast<u64>(n);
    }
    const int percent = static_cast<int>(w.written * 100 / w.total);
    if (w.total >= 64 * kl::MiB && percent / 5 != w.last_percent / 5) {
        fprintf(stderr, "\rgen-model: %3d%% (%llu of %llu MiB)", percent, static_cast<unsigned long long>(w.written / kl::MiB),
            static_cast<unsigned long long>(w.total / kl::MiB));
        w.last_percent = percent;
    }
    return {};
}

// Writes OUT through `produce`: into OUT.partial, renamed to OUT once complete (a path
// that exists and is not a regular file, such as /dev/null, is written in place).
ErrorOr<void> write_output(const char* out, u64 total, const std::function<ErrorOr<void>(tools::ChunkWriter&)>& produce)
{
    struct stat existing;
    const bool in_place = stat(out, &existing) == 0 && !S_ISREG(existing.st_mode);
    const std::string partial = in_place ? std::string(out) : std::string(out) + ".partial";
    const int fd = open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return Error::make(ErrorCode::IoOpen, "cannot create %s: %s", partial.c_str(), strerror(errno));
    FileWriter writer { fd, out, total };
    tools::ChunkWriter chunks { write_chunk, &writer };
    auto result = produce(chunks);
    if (writer.last_percent >= 0)
        fputc('\n', stderr);
    if (close(fd) != 0 && !result.is_error())
        result = Error::make(ErrorCode::IoWrite, "closing %s failed: %s", partial.c_str(), strerror(errno));
    if (!result.is_error() && writer.written != total)
        result = Error::make(ErrorCode::IoWrite, "%s: wrote %llu bytes, expected %llu", out, static_cast<unsigned long long>(writer.written),
            static_cast<unsigned long long>(total));
    if (!result.is_error() && !in_place && rename(partial.c_str(), out) != 0)
        result = Error::make(ErrorCode::IoWrite, "cannot rename %s to %s: %s", partial.c_str(), out, strerror(errno));
    if (result.is_error() && !in_place)
        unlink(partial.c_str());  // never leave a truncated model behind
    return result;
}

ErrorOr<std::vector<u8>> read_whole(const char* name, host::FileKind kind, const char* what)
{
    const host::FoundFile found = TRY(host::find_model_file(name, kind));
    host::FileBuffer file = TRY(host::load_file(found.path, what));
    std::vector<u8> bytes(file.data, file.data + file.size);
    host::free_file(file);
    return bytes;
}

ErrorOr<void> run_checkpoint(const Options& o)
{
    tools::RandomModelSpec spec;
    spec.config = o.shape->config;
    if (o.seq_len > 0)
        spec.config.seq_len = o.seq_len;
    spec.q8 = o.q8;
    spec.seed = o.seed;
    const u64 start = kl::time::rdtsc();
    const u64 total = tools::checkpoint_bytes(spec);
    TRY(write_output(o.out, total, [&](tools::ChunkWriter& out) { return tools::write_random_checkpoint(spec, out); }));
    fprintf(stderr, "gen-model: wrote %s: %s %s, %llu bytes, seed %llu, %.1f s\n", o.out, o.shape->name, o.q8 ? "Q8_0" : "fp32",
        static_cast<unsigned long long>(total), static_cast<unsigned long long>(o.seed),
        kl::time::cycles_to_s(kl::time::rdtsc() - start));
    return {};
}

ErrorOr<void> run_gguf(const Options& o)
{
    tools::GgufModelSpec spec;
    spec.type = o.type;
    spec.seed = o.seed;
    spec.chat_template = o.chat_template ? o.chat_template : "";
    std::vector<u8> source;
    host::FileBuffer source_file {};
    Checkpoint checkpoint {};
    if (o.from) {
        const host::FoundFile found = TRY(host::find_model_file(o.from, host::FileKind::Model));
        source_file = TRY(host::load_file(found.path, "checkpoint"));
        auto parsed = parse_checkpoint(source_file.data, source_file.size);
        if (parsed.is_error()) {
            host::free_file(source_file);
            return parsed.release_error();
        }
        checkpoint = parsed.release_value();
        spec.config = checkpoint.config;
        spec.source = &checkpoint;
        spec.tied_classifier = checkpoint.weights.shared_classifier;
        const char* slash = strrchr(o.from, '/');
        spec.name = slash ? slash + 1 : o.from;
    } else {
        spec.config = o.shape->config;
        if (o.seq_len > 0)
            spec.config.seq_len = o.seq_len;
        // TinyLlama-1.1B has its own classifier; the TinyStories models share the embedding.
        spec.tied_classifier = strcmp(o.shape->name, "tinyllama-1.1b") != 0;
        spec.name = o.shape->name;
    }
    const char* tokenizer = o.tokenizer ? o.tokenizer : (spec.config.vocab_size == 512 ? "tok512.bin" : "tokenizer.bin");
    auto result = [&]() -> ErrorOr<void> {
        spec.tokenizer_bin = TRY(read_whole(tokenizer, host::FileKind::Tokenizer, "tokenizer"));
        const tools::GgufWriter plan = TRY(tools::plan_gguf_model(spec));
        const u64 start = kl::time::rdtsc();
        TRY(write_output(o.out, plan.file_bytes(), [&](tools::ChunkWriter& out) { return tools::write_gguf_model(spec, plan, out); }));
        fprintf(stderr, "gen-model: wrote %s: %s %s GGUF, %llu bytes, %s, %.1f s\n", o.out, spec.name.c_str(), spec.type->name,
            static_cast<unsigned long long>(plan.file_bytes()), o.from ? "converted" : "random weights",
            kl::time::cycles_to_s(kl::time::rdtsc() - start));
        return {};
    }();
    if (o.from)
        host::free_file(source_file);
    return result;
}

ErrorOr<void> run(const Options& o)
{
    return o.gguf ? run_gguf(o) : run_checkpoint(o);
}

}

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf(usage, tools::shape_names(), tools::gguf_type_names());
            printf("\n");
            return 0;
        }
    }
    auto options = parse_options(argc, argv);
    if (options.is_error()) {
        fprintf(stderr, "gen-model: error (%s): %s\n", options.error().code_name(), options.error().message());
        return options.error().exit_status();
    }
    auto result = run(options.value());
    if (result.is_error()) {
        fprintf(stderr, "gen-model: error (%s): %s\n", result.error().code_name(), result.error().message());
        return result.error().exit_status();
    }
    return 0;
}
