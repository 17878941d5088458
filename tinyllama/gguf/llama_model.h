// The llama model of a GGUF file: hyperparameters from the `llama.*` keys and a view of
// every weight tensor, checked for presence, shape and format.
//
// map_llama() accepts architecture `llama` only (anything else is an error naming it).
// A weight matrix with `rows` outputs and `cols` inputs is stored with ne0 = cols,
// ne1 = rows, rows one after another (formats.md); its rows are row_bytes(format, cols)
// apart. Norm vectors are F32. The matrices may mix any supported formats (Q4_K_M files
// hold Q4_K and Q6_K); the classifier is the token embedding when `output.weight` is
// absent. Tensors the model does not use (e.g. rope_freqs) are ignored. The result is
// plain data the engine turns into its weights; nothing is copied.
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/formats.h"
#include "tinyllama/gguf/gguf.h"
#include "tinyllama/model.h"

namespace tllama::gguf {

// A tensor and a layer's tensors as the engine uses them (tinyllama/model.h): row r of a
// matrix at data + r * row_bytes(format, cols), norms as F32 vectors (one row).
using tllama::LayerWeights;
using tllama::WeightView;

struct LlamaModel {
    Config config;              // dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
    u32 rope_dimensions;        // llama.rope.dimension_count (== head_size)
    float rope_freq_base;       // llama.rope.freq_base (10000 when absent)
    float rms_norm_eps;         // llama.attention.layer_norm_rms_epsilon
    WeightView token_embedding; // [vocab_size][dim]
    WeightView output_norm;     // [dim] F32
    WeightView output;          // [vocab_size][dim]; == token_embedding when tied
    bool tied_output;           // output.weight absent
    LayerWeights* layers;       // [n_layers] (allocated)
    u64 weight_bytes;           // every tensor the model uses, counted once
};

// Errors: GgufModel naming the key or tensor and what was expected (architecture,
// hyperparameters out of range or inconsistent, missing tensor, wrong shape, a norm not in
// F32, misaligned data), GgufMetadata from the getters, OutOfMemory.
kl::ErrorOr<void> map_llama(LlamaModel& model, const File& file);
void free_llama(LlamaModel& model);

// "f32 45, q4_k 154, q6_k 23": the formats in use and their tensor counts, for the model summary.
void describe_formats(const LlamaModel& model, char* buffer, usize size);

}
