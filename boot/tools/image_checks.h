// Host-side checks and look-ups for mkimage: where model files are, and whether a model
// and tokenizer would load in the kernel (the engine's own validation, run on the host).
#pragma once

#include <string>
#include <vector>

#include "kernel_lib/base/error.h"

// The tokenizer that belongs to a model when none is given: tok512.bin for stories260K*,
// tokenizer.bin (the 32000-token Llama 2 vocabulary) otherwise.
std::string default_tokenizer_for(const std::string& model);

// A path as given if it exists, else the file name looked up in ./models and each
// directory of $BAREFLOW_MODEL_PATH; exits with a message naming the places otherwise.
std::string resolve_model_file(const std::string& name, const char* what);

// A GGUF model by its name (".gguf", any case).
bool is_gguf_name(const std::string& model);

// Validates a GGUF model with the engine's reader, llama mapping and tokenizer builder.
kl::ErrorOr<void> check_gguf_model(const std::vector<u8>& model, const std::string& model_path);

// Validates the model header/size and the tokenizer against it, as the kernel will.
kl::ErrorOr<void> check_model_and_tokenizer(const std::vector<u8>& model, const std::vector<u8>& tokenizer,
    const std::string& model_path, const std::string& tokenizer_path);
