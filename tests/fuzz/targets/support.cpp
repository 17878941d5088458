// The fuzz targets' table, their failure handler and file helpers (see tests/fuzz/targets.h).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"

const FuzzTarget fuzz_targets[] = {
    { "model", fuzz_model },
    { "q8_header", fuzz_q8_header },
    { "tokenizer", fuzz_tokenizer },
    { "encode", fuzz_encode },
    { "settings", fuzz_settings },
    { "keyvalue", fuzz_keyvalue },
    { "directory", fuzz_directory },
    { "cm", fuzz_cm },
    { "lz", fuzz_lz },
    { "json", fuzz_json },
    { "http", fuzz_http },
    { "serve", fuzz_serve },
    { "uefi_memory_map", fuzz_uefi_memory_map },
    { "uefi_disk", fuzz_uefi_disk },
    { "gguf", fuzz_gguf },
    { "chat", fuzz_chat },
};
const size_t fuzz_target_count = sizeof(fuzz_targets) / sizeof(fuzz_targets[0]);

namespace {

void print_and_abort(const char* message)
{
    fprintf(stderr, "fuzz property violated: %s\n", message);
    fflush(stderr);
    abort();
}

FuzzFailureHandler failure_handler = print_and_abort;

bool exists(const std::string& path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The repository root from this file's compile-time path (the Makefile compiles from the
// root, so it is usually "."), as tests/host/test_support.cpp does.
std::string repo_root()
{
    if (const char* env = getenv("BAREFLOW_ROOT"))
        return env;
    std::string file = __FILE__;
    auto pos = file.rfind("tests/fuzz/targets/support.cpp");
    return pos == std::string::npos || pos == 0 ? "." : file.substr(0, pos - 1);
}

}

void set_fuzz_failure_handler(FuzzFailureHandler handler)
{
    failure_handler = handler ? handler : print_and_abort;
}

void fuzz_fail(const char* fmt, ...)
{
    char message[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    failure_handler(message);
    abort();  // a handler that returns would let the target run on with a broken state
}

namespace fuzz_support {

std::string find_model_file(const char* name)
{
    std::vector<std::string> dirs { "models" };
    if (const char* path = getenv("BAREFLOW_MODEL_PATH")) {
        std::string list = path;
        for (size_t start = 0; start <= list.size();) {
            size_t colon = list.find(':', start);
            if (colon == std::string::npos)
                colon = list.size();
            if (colon > start)
                dirs.push_back(list.substr(start, colon - start));
            start = colon + 1;
        }
    }
    dirs.push_back(repo_root() + "/../shared/models");
    for (const auto& dir : dirs) {
        if (exists(dir + "/" + name))
            return dir + "/" + name;
    }
    return "";
}

bool read_whole_file(const std::string& path, std::vector<u8>& out)
{
    FILE* f = fopen(path.c_str(), "rb");
    if (!f)
        return false;
    out.clear();
    u8 buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
        out.insert(out.end(), buffer, buffer + n);
    const bool ok = !ferror(f);
    fclose(f);
    return ok;
}

}
