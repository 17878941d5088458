// Host-only: llama GGUF files for gen-model and the tests, with random weights of a
// well-known shape or converted from a llama2.c checkpoint, and the tokenizer of a
// tokenizer.bin.
//
// Every matrix row is made in fp32 (random: uniform in +-1/sqrt(cols), norms 1 +- 0.1,
// from a per-tensor splitmix64 stream, so a tensor's values depend only on the seed, its
// name and its shape, not on the format) and quantised with the format's reference
// quantiser (microjit/quantize_blocks.h: ggml's reference algorithms). Norms stay F32.
// A matrix whose rows the type cannot cut into whole blocks gets llama.cpp's fallback type
// (said on stderr; see fitting_format). The type "q4_k_m" is llama.cpp's Q4_K_M mix: Q6_K
// for attn_v and ffn_down of the layers where use_more_bits(i, n) holds (i < n/8,
// i >= 7n/8, (i - n/8) % 3 == 2) and for the classifier (output.weight, or
// token_embd.weight when tied), Q4_K elsewhere.
#pragma once

#include <string>
#include <vector>

#include "kernel_lib/base/error.h"
#include "microjit/formats.h"
#include "tinyllama/host/gguf_writer.h"
#include "tinyllama/model.h"

namespace tllama::tools {

struct GgufType {
    const char* name;     // "f32", "q8_0", "q4_k_m", ...
    mjit::Format format;  // the matrices' format (q4_k_m: the Q4_K part)
    bool q4_k_m;
};

// f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k q4_k_m; null if unknown.
const GgufType* find_gguf_type(const char* name);
const char* gguf_type_names();  // "f32|f16|...|q4_k_m"

// The chat templates gen-model can embed: tinyllama (TinyLlama-1.1B-Chat-v1.0), chatml,
// llama2 (Llama-2-chat); null if unknown.
const char* find_chat_template(const char* name);

struct GgufModelSpec {
    Config config;
    const GgufType* type = nullptr;
    u64 seed = 0;
    bool tied_classifier = true;          // no output.weight
    const Checkpoint* source = nullptr;   // convert these weights instead of random ones
    std::vector<u8> tokenizer_bin;        // tokenizer.bin / tok512.bin for config.vocab_size
    std::string chat_template;            // empty: none
    std::string name = "bareflow";        // general.name
};

// The format a matrix gets: `role` is the GGUF tensor name without "blk.N." and
// ".weight" (attn_q, ffn_down, token_embd, output, ...); layer -1 outside the blocks.
mjit::Format format_for(const GgufModelSpec& spec, const char* role, i32 layer);

// The writer with every key and tensor of the model (the sizes follow from it). Errors:
// a shape the format cannot hold (rows not a whole number of blocks), a tokenizer that
// does not match, InvalidArgument.
kl::ErrorOr<GgufWriter> plan_gguf_model(const GgufModelSpec& spec);
// Streams the file planned by plan_gguf_model.
kl::ErrorOr<void> write_gguf_model(const GgufModelSpec& spec, const GgufWriter& plan, ChunkWriter& out);

// tokenizer.bin's vocabulary as GGUF tokenizer keys (tokenizer.ggml.model "llama", tokens
// with U+2581 for spaces, BOS/EOS pieces "<s>"/"</s>", scores, token types: 2 for <unk>,
// 3 for BOS and EOS, 6 for the byte tokens, 1 otherwise). `added_control`: control tokens
// after tokenizer.bin's (as fine-tunes add <|im_start|>, <|im_end|>), score 0; vocab_size
// counts them.
kl::ErrorOr<void> add_tokenizer(GgufWriter& writer, const std::vector<u8>& tokenizer_bin, i32 vocab_size,
    const std::vector<std::string>& added_control = {});

}
