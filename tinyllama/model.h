// Model parsing: llama2.c's Config and the weights, as views into a file held in memory.
//
// Three kinds of file: the legacy llama2.c fp32 checkpoint ("version 0", shared or
// separate classifier), its int8 Q8_0 "version 2" checkpoint (../shared/docs/formats.md),
// and GGUF (tinyllama/gguf: llama.cpp's format, each tensor in its own block format). The
// whole file is one buffer that the caller keeps alive (the kernel gets it as a boot
// payload, the host tool maps the file); the weights are views into it and are never
// copied, one WeightView per tensor and layer, each with its mjit::Format. Every header
// field and the exact payload size are validated with overflow-checked 64-bit arithmetic
// before any pointer is formed, so a damaged or foreign file is an Error naming the field,
// its value and what was expected.
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/formats.h"

namespace tllama {

// Upper bounds that keep every size computation far from overflow; they admit Llama 2
// 70B-sized dimensions, which is more than any machine we boot can hold anyway.
constexpr i32 max_dim = 65536;
constexpr i32 max_hidden_dim = 65536;
constexpr i32 max_layers = 256;
constexpr i32 max_vocab_size = 1 << 20;
constexpr i32 max_seq_len = 1 << 20;

constexpr u32 q8_magic = 0x616b3432;    // "ak42" as a little-endian u32
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

// One weight tensor as the kernels read it: rows x cols values in `format`, row r at
// data + r * mjit::weight_row_bytes(format, cols); a norm vector is one row of F32.
// A view into the model file: never a copy.
struct WeightView {
    const void* data;
    const float* scales;   // Q8G (llama2.c int8): [rows][cols / group_size]; null otherwise
    mjit::Format format;
    u32 rows;              // outputs (1 for a vector)
    u32 cols;              // inputs (the vector's length)
    u64 bytes;             // of `data` (Q8G: values and scales)

    const float* f32() const { return static_cast<const float*>(data); }
};

struct LayerWeights {
    WeightView attn_norm;  // [dim] F32
    WeightView wq;         // [dim][dim]
    WeightView wk;         // [kv_dim][dim]
    WeightView wv;         // [kv_dim][dim]
    WeightView wo;         // [dim][dim]
    WeightView ffn_norm;   // [dim] F32
    WeightView w1;         // gate [hidden_dim][dim]
    WeightView w2;         // down [dim][hidden_dim]
    WeightView w3;         // up   [hidden_dim][dim]
};

// Every weight of a model, whatever file it came from (llama2.c fp32 or int8, GGUF with
// its formats mixed freely per tensor).
struct TransformerWeights {
    u32 group_size;              // Q8G group size; 0 when no tensor is Q8G
    bool shared_classifier;      // wcls is the token embedding table
    WeightView token_embedding;  // [vocab_size][dim]
    WeightView output_norm;      // [dim] F32
    WeightView wcls;             // [vocab_size][dim]
    LayerWeights* layers;        // [n_layers] (allocated; free_checkpoint releases it)
};

namespace gguf {
struct File;
}

struct Checkpoint {
    Config config;
    TransformerWeights weights;
    float rope_theta;     // RoPE frequency base: 10000 in llama2.c, llama.rope.freq_base in GGUF
    float rms_eps;        // RMS norm epsilon: 1e-5 in llama2.c, from the GGUF file
    u64 file_bytes;       // the whole buffer
    u64 weight_bytes;     // the part the weights occupy (file minus headers and RoPE tables)
    gguf::File* gguf;     // a GGUF file's parsed metadata (tokenizer, chat template); null otherwise
};

// The header checks alone (ModelHeader / ModelDims): fields in range, dim divisible by
// n_heads, n_heads by n_kv_heads, head_size even, room for the 259 special/byte tokens.
kl::ErrorOr<void> validate_config(const Config& config);

// Validates `data` (`size` bytes, 4-byte aligned, kept alive by the caller) and returns
// views into it: a llama2.c checkpoint (fp32 or int8) or a GGUF file (tinyllama/gguf),
// told apart by their magic. Errors: ModelHeader (a field out of range), ModelDims (fields
// that do not fit together), ModelSize (the file is not the size the header implies),
// ModelQ8Header (Q8 magic/version/flag/group size, or a -128 weight byte, see
// tinyllama/README.md), the Gguf* codes, InvalidArgument (misaligned buffer), OutOfMemory.
// free_checkpoint() releases what it allocated (the layer table, GGUF metadata).
kl::ErrorOr<Checkpoint> parse_checkpoint(const void* data, u64 size);
void free_checkpoint(Checkpoint& checkpoint);

// True when `data` starts like a GGUF file (no tokenizer file needed).
bool is_gguf(const void* data, u64 size);

// "fp32, shared classifier" / "Q8_0 (group size 64), separate classifier" /
// "GGUF (f32 45, q4_k 135, q6_k 22), separate classifier".
void describe_format(const Checkpoint& checkpoint, char* buffer, usize size);
// "f32 45, q4_k 135, q6_k 22": how many tensors (norms included) use each format.
void describe_tensor_formats(const TransformerWeights& weights, i32 layers, char* buffer, usize size);

}
