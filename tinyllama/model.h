// Checkpoint parsing: llama2.c's Config and TransformerWeights over a file held in memory.
//
// Two formats (../shared/docs/formats.md): the legacy fp32 checkpoint ("version 0",
// shared or separate classifier) and the int8 Q8_0 "version 2" checkpoint. The whole
// file is one buffer that the caller keeps alive (the kernel gets it as a boot payload,
// the host tool maps the file); the weights are views into it and are never copied.
// parse_checkpoint() validates every header field and the exact payload size with
// overflow-checked 64-bit arithmetic before any pointer is formed, so a damaged or
// foreign file is an Error naming the field, its value and what was expected.
#pragma once

#include "kernel_lib/base/error.h"

namespace tllama {

// Upper bounds that keep every size computation far from overflow; they admit Llama 2
// 70B-sized dimensions, which is more than any machine we boot can hold anyway.
constexpr i32 max_dim = 65536;
constexpr i32 max_hidden_dim = 65536;
constexpr i32 max_layers = 256;
constexpr i32 max_vocab_size = 1 << 20;
constexpr i32 max_seq_len = 1 << 20;

constexpr u32 q8_magic = 0x616b3432;  // "ak42" as a little-endian u32
constexpr u32 q8_header_bytes = 256;
constexpr u32 legacy_header_bytes = 7 * 4;

struct Config {
    i32 dim;         // transformer width
    i32 hidden_dim;  // FFN inner width
    i32 n_layers;
    i32 n_heads;     // query heads
    i32 n_kv_heads;  // key/value heads (< n_heads: grouped-query attention)
    i32 vocab_size;  // always positive here (the legacy sign lives in shared_classifier)
    i32 seq_len;     // maximum context length

    i32 head_size() const { return dim / n_heads; }
    i32 kv_dim() const { return dim / n_heads * n_kv_heads; }
    i32 kv_mul() const { return n_heads / n_kv_heads; }  // query heads per kv head
};

enum class WeightFormat : u8 {
    F32,  // legacy fp32 checkpoint
    Q8,   // Q8_0 "version 2"
};

// A weight matrix of one layer as the kernels take it: fp32 values, or int8 values with
// one fp32 scale per group of `group_size` consecutive values of a row.
struct MatrixView {
    const void* w;        // [rows][cols] float or i8
    const float* scale;   // Q8: [rows * cols / group_size]; null for fp32
};

// One kind of weight matrix for every layer, stored back to back with a fixed stride
// (fp32: [L][rows][cols] floats; Q8: per layer `rows*cols` int8 values then their scales).
struct MatrixStack {
    const u8* base;       // first layer's values
    u64 stride;           // bytes from one layer's tensor to the next
    u64 scale_offset;     // Q8: bytes from a layer's values to its scales; 0 for fp32
    u32 rows;             // output length d
    u32 cols;             // input length n

    MatrixView layer(i32 l) const
    {
        const u8* p = base + static_cast<u64>(l) * stride;
        return { p, scale_offset ? reinterpret_cast<const float*>(p + scale_offset) : nullptr };
    }
};

struct TransformerWeights {
    WeightFormat format;
    u32 group_size;           // Q8_0 group size GS; 0 for fp32
    bool shared_classifier;   // wcls is the token embedding table

    MatrixStack token_embedding;   // [vocab_size][dim] (one "layer")
    const float* rms_att_weight;   // [n_layers][dim]
    const float* rms_ffn_weight;   // [n_layers][dim]
    const float* rms_final_weight; // [dim]
    MatrixStack wq;                // [n_layers] x [dim][dim]
    MatrixStack wk;                // [n_layers] x [kv_dim][dim]
    MatrixStack wv;                // [n_layers] x [kv_dim][dim]
    MatrixStack wo;                // [n_layers] x [dim][dim]
    MatrixStack w1;                // [n_layers] x [hidden_dim][dim]
    MatrixStack w2;                // [n_layers] x [dim][hidden_dim]
    MatrixStack w3;                // [n_layers] x [hidden_dim][dim]
    MatrixStack wcls;              // [vocab_size][dim]; == token_embedding when shared
};

struct Checkpoint {
    Config config;
    TransformerWeights weights;
    u64 file_bytes;     // the whole buffer
    u64 weight_bytes;   // the part the weights occupy (file minus header and RoPE tables)
};

// The header checks alone (ModelHeader / ModelDims): fields in range, dim divisible by
// n_heads, n_heads by n_kv_heads, head_size even, room for the 259 special/byte tokens.
kl::ErrorOr<void> validate_config(const Config& config);

// Validates `data` (`size` bytes, 4-byte aligned, kept alive by the caller) and returns
// views into it. Errors: ModelHeader (a field out of range), ModelDims (fields that do
// not fit together), ModelSize (the file is not the size the header implies),
// ModelQ8Header (Q8 magic/version/flag/group size, or a -128 weight byte, see
// tinyllama/README.md), InvalidArgument (misaligned buffer).
kl::ErrorOr<Checkpoint> parse_checkpoint(const void* data, u64 size);

// "fp32, shared classifier" / "Q8_0 gs 64, separate classifier".
void describe_format(const TransformerWeights& weights, char* buffer, usize size);

}
