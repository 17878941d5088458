// gen-model: writes a checkpoint of a well-known shape with deterministic random weights.
//
//   gen-model --shape stories260K|stories15M|stories42M|stories110M|tinyllama-1.1b
//             [--q8] [--seed N] [--seq-len N] OUT
//
// Streams the file in 4 MiB chunks with progress on stderr; a write error (disk full)
// removes the partial file and exits with io.write's status. scripts/gen-model wraps it.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel_lib/time/tsc.h"
#include "tinyllama/host/arguments.h"
#include "tinyllama/host/random_model.h"

namespace {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using namespace tllama;

struct Options {
    const tools::ModelShape* shape = nullptr;
    bool q8 = false;
    u64 seed = tools::default_seed;
    i32 seq_len = 0;  // 0: the shape's own
    const char* out = nullptr;
};

ErrorOr<Options> parse_options(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        if (strcmp(arg, "--q8") == 0) {
            o.q8 = true;
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
        } else if (strcmp(arg, "--seed") == 0) {
            o.seed = TRY(host::parse_whole_argument("--seed", argv[++i], ~0ull));
        } else if (strcmp(arg, "--seq-len") == 0) {
            o.seq_len = static_cast<i32>(TRY(host::parse_whole_argument("--seq-len", argv[++i], max_seq_len)));
        } else {
            return Error::make(ErrorCode::UsageError, "unknown option %s", arg);
        }
    }
    if (!o.shape || !o.out)
        return Error::make(ErrorCode::UsageError, "usage: gen-model --shape %s [--q8] [--seed N] [--seq-len N] OUT",
            tools::shape_names());
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

ErrorOr<void> run(const Options& o)
{
    tools::RandomModelSpec spec;
    spec.config = o.shape->config;
    if (o.seq_len > 0)
        spec.config.seq_len = o.seq_len;
    spec.q8 = o.q8;
    spec.seed = o.seed;

    const int fd = open(o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return Error::make(ErrorCode::IoOpen, "cannot create %s: %s", o.out, strerror(errno));
    // Only a regular file is removed after a failure (OUT may be /dev/null or a pipe).
    struct stat st;
    const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    FileWriter writer { fd, o.out, tools::checkpoint_bytes(spec) };
    tools::ChunkWriter out { write_chunk, &writer };
    const u64 start = kl::time::rdtsc();
    auto result = tools::write_random_checkpoint(spec, out);
    if (writer.last_percent >= 0)
        fputc('\n', stderr);
    if (close(fd) != 0 && !result.is_error())
        result = Error::make(ErrorCode::IoWrite, "closing %s failed: %s", o.out, strerror(errno));
    if (result.is_error()) {
        if (regular)
            unlink(o.out);  // never leave a truncated model behind
        return result;
    }
    VERIFY(writer.written == writer.total);
    fprintf(stderr, "gen-model: wrote %s: %s %s, %llu bytes, seed %llu, %.1f s\n", o.out, o.shape->name, o.q8 ? "Q8_0" : "fp32",
        static_cast<unsigned long long>(writer.written), static_cast<unsigned long long>(o.seed),
        kl::time::cycles_to_s(kl::time::rdtsc() - start));
    return {};
}

}

int main(int argc, char** argv)
{
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
