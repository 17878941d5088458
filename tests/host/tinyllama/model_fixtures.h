// Shared helpers of the TinyLlama tests: finding the shared models and reference outputs,
// loading a model + tokenizer, and running generate() into a string.
//
// Models are looked up like the host tool does (./models, then $BAREFLOW_MODEL_PATH),
// then in ../shared/models next to the repository root; reference outputs in
// $BAREFLOW_REFERENCE_DIR, then ../shared/reference, then ../reference next to a
// $BAREFLOW_MODEL_PATH directory. They are required: a missing file fails the test with
// a message saying where it looked.
#pragma once

#include <string>
#include <vector>

#include "kernel_lib/base/error.h"
#include "tests/host/test_support.h"
#include "tinyllama/generate.h"
#include "tinyllama/host/load_file.h"

namespace tllama::test {

using test_support::read_file;
using test_support::read_text;

// The path of a shared model/tokenizer file, or FAIL().
std::string model_path(const char* name);
// The reference directory, or FAIL().
std::string reference_dir();

// "code: message" of a failed ErrorOr, "(no error)" otherwise (for INFO and checks).
template<typename T>
std::string error_text(const kl::ErrorOr<T>& result)
{
    if (!result.is_error())
        return "(no error)";
    return std::string(result.error().code_name()) + ": " + result.error().message();
}

// A model and its tokenizer, loaded and built (REQUIREs success); a null tokenizer name
// takes a GGUF model's own tokenizer.
struct LoadedModel {
    host::FileBuffer model_file;
    host::FileBuffer tokenizer_file;
    Transformer transformer;
    Tokenizer tokenizer {};

    LoadedModel(const char* model_name, const char* tokenizer_name);
    LoadedModel(const void* model_data, u64 model_size, const char* tokenizer_name);
    ~LoadedModel();
    LoadedModel(const LoadedModel&) = delete;
    LoadedModel& operator=(const LoadedModel&) = delete;

private:
    void load_tokenizer(const char* tokenizer_name);
};

struct GenerateResult {
    std::string text;
    GenerateStats stats;
};

// generate() with a fresh sampler, the text collected through a TextSink.
GenerateResult run_generate(LoadedModel& m, const char* prompt, i32 steps, float temperature, float topp, u64 seed);

// encode() with BOS, into a vector (REQUIREs success).
std::vector<i32> encode_text(const Tokenizer& t, const std::string& text);

}
