// GGUF files for the tests: small llama models written by gen-model's own code
// (tinyllama/host/gguf_model.h) with the tok512.bin vocabulary, a parsed view of them,
// and byte surgery for the failure cases (where a tensor info or key lies in the file).
#pragma once

#include <string>
#include <vector>

#include "tinyllama/gguf/gguf.h"
#include "tinyllama/gguf/llama_model.h"
#include "tinyllama/host/gguf_model.h"

namespace tllama::test {

// dim 32, hidden 64, 2 layers, 4 heads (2 kv), vocab 512, seq_len 64 (f32-friendly), or
// dim 256, hidden 512, 1 layer for the K formats.
Config small_config();
Config k_config();

// The spec of a model of `config` in `type` ("f32", "q4_k_m", ...) with tok512.bin.
tools::GgufModelSpec small_spec(const Config& config, const char* type);
std::vector<u8> make_gguf(const tools::GgufModelSpec& spec);

// A llama2.c checkpoint from the shared models ("stories260K.bin") as a GGUF of `type`
// with tok512.bin's vocabulary, the way gen-model --from writes it.
std::vector<u8> converted_gguf(const char* checkpoint, const char* type);

// A file in memory, parsed (REQUIREs success) and freed with the object.
struct ParsedGguf {
    std::vector<u8> bytes;
    gguf::File file {};

    explicit ParsedGguf(std::vector<u8> data);
    ~ParsedGguf();
    ParsedGguf(const ParsedGguf&) = delete;
    ParsedGguf& operator=(const ParsedGguf&) = delete;
};

// The result of parsing `bytes` (the File is freed): the error text, or "" on success.
std::string parse_error(const std::vector<u8>& bytes, kl::ErrorCode* code = nullptr);

// Byte position of the tensor info of `name` (its 8-byte name length) in a GGUF file.
size_t tensor_info_at(const std::vector<u8>& file, const std::string& name);
// Byte position of the key `key` (its 8-byte length) in a GGUF file.
size_t key_at(const std::vector<u8>& file, const std::string& key);

template<typename T>
void poke(std::vector<u8>& file, size_t at, T value)
{
    memcpy(file.data() + at, &value, sizeof(T));
}

}
