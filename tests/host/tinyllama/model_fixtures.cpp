// Shared helpers of the TinyLlama tests (see model_fixtures.h).
#include "tests/host/tinyllama/model_fixtures.h"

#include <catch2/catch.hpp>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/host/test_support.h"
#include "tinyllama/gguf/tokenizer_gguf.h"
#include "tinyllama/host/model_search.h"

namespace tllama::test {

namespace {

bool exists(const std::string& path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

void append_text(void* context, const char* bytes, usize length)
{
    static_cast<std::string*>(context)->append(bytes, length);
}

}

std::string model_path(const char* name)
{
    const bool tokenizer = strstr(name, "tok") != nullptr;  // tok512.bin, tokenizer.bin: for the hint
    auto found = host::find_model_file(name, tokenizer ? host::FileKind::Tokenizer : host::FileKind::Model);
    if (!found.is_error())
        return found.value().path;
    const std::string shared = test_support::repo_root() + "/../shared/models/" + name;
    if (exists(shared))
        return shared;
    FAIL("required test model " << name << " is missing: " << found.error().message() << "; also not at " << shared);
    return {};
}

std::string reference_dir()
{
    std::vector<std::string> candidates;
    if (const char* env = getenv("BAREFLOW_REFERENCE_DIR"); env && *env)
        candidates.push_back(env);
    candidates.push_back(test_support::repo_root() + "/../shared/reference");
    // A clone elsewhere (CI) usually has only $BAREFLOW_MODEL_PATH pointing at
    // .../shared/models: its sibling reference/ is the same shared tree.
    if (const char* path = getenv("BAREFLOW_MODEL_PATH")) {
        std::string dirs = path;
        for (size_t start = 0; start <= dirs.size();) {
            size_t colon = dirs.find(':', start);
            if (colon == std::string::npos)
                colon = dirs.size();
            if (colon > start)
                candidates.push_back(dirs.substr(start, colon - start) + "/../reference");
            start = colon + 1;
        }
    }
    for (const std::string& dir : candidates) {
        if (exists(dir + "/README.md"))
            return dir;
    }
    FAIL("reference outputs are missing: no README.md in $BAREFLOW_REFERENCE_DIR, ../shared/reference or next to a "
         "$BAREFLOW_MODEL_PATH directory (looked in "
        << candidates.front() << (candidates.size() > 1 ? ", ..." : "") << ")");
    return {};
}

LoadedModel::LoadedModel(const char* model_name, const char* tokenizer_name)
{
    auto file = host::load_file(model_path(model_name).c_str(), "model");
    REQUIRE_FALSE(file.is_error());
    model_file = file.value();
    auto built = build_transformer(transformer, model_file.data, model_file.size);
    INFO(error_text(built));
    REQUIRE_FALSE(built.is_error());
    load_tokenizer(tokenizer_name);
}

LoadedModel::LoadedModel(const void* model_data, u64 model_size, const char* tokenizer_name)
{
    auto built = build_transformer(transformer, model_data, model_size);
    INFO(error_text(built));
    REQUIRE_FALSE(built.is_error());
    load_tokenizer(tokenizer_name);
}

void LoadedModel::load_tokenizer(const char* tokenizer_name)
{
    if (!tokenizer_name) {
        REQUIRE(transformer.model.gguf);
        auto built = gguf::build_tokenizer_gguf(tokenizer, *transformer.model.gguf, transformer.config.vocab_size);
        INFO(error_text(built));
        REQUIRE_FALSE(built.is_error());
        return;
    }
    auto file = host::load_file(model_path(tokenizer_name).c_str(), "tokenizer");
    REQUIRE_FALSE(file.is_error());
    tokenizer_file = file.value();
    auto built = build_tokenizer(tokenizer, tokenizer_file.data, tokenizer_file.size, transformer.config.vocab_size);
    INFO(error_text(built));
    REQUIRE_FALSE(built.is_error());
}

LoadedModel::~LoadedModel()
{
    free_tokenizer(tokenizer);
    free_transformer(transformer);
    host::free_file(tokenizer_file);
    host::free_file(model_file);
}

GenerateResult run_generate(LoadedModel& m, const char* prompt, i32 steps, float temperature, float topp, u64 seed)
{
    Sampler sampler {};
    auto built = build_sampler(sampler, m.transformer.config.vocab_size, temperature, topp, seed);
    REQUIRE_FALSE(built.is_error());
    GenerateResult result;
    TextSink sink { append_text, &result.text };
    auto stats = generate(m.transformer, m.tokenizer, sampler, prompt, steps, sink);
    free_sampler(sampler);
    INFO(error_text(stats));
    REQUIRE_FALSE(stats.is_error());
    result.stats = stats.value();
    return result;
}

std::vector<i32> encode_text(const Tokenizer& t, const std::string& text)
{
    std::vector<i32> tokens(encode_capacity(text.size()));
    auto n = encode(t, text.data(), text.size(), true, false, tokens.data(), tokens.size());
    INFO(error_text(n));
    REQUIRE_FALSE(n.is_error());
    tokens.resize(n.value());
    return tokens;
}

}
