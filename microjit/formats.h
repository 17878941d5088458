// The weight and activation formats: one table row per format, as ggml's type traits.
//
// The GGUF reader, the engine and the micro-JIT look a format up here instead of
// switching on it in many places: its name, its ggml type id, how many values a block
// holds and how many bytes it takes, the activation format it multiplies with (ggml's
// vec_dot_type: the activations are converted to it before the dot products), and its
// reference functions: dequantise a row, quantise a row (fp32 -> the format), and the
// scalar reference matrix kernel (KernelFn of kernel_abi.h) whose summation order every
// generated kernel of that format follows bit for bit (reference_blocks.h states it).
//
// KernelArgs for a block format: `w` = the weight blocks, row r at w + r * row_bytes(format, n);
// `x` = the activations already in the activation format, token k at
// x + k * row_bytes(activation, n); w_scale, x_scale = null; gs = 0; n a multiple of the
// block size; out[tok][row] for rows [row_begin, row_end). F32 and Q8G are the engine's
// existing formats (reference.h): fp32 rows, and llama2.c's int8 "version 2" Q8_0 with a
// separate fp32 scale array and a variable group size (its own KernelArgs convention).
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/kernel_abi.h"

namespace mjit {

enum class Format : u8 {
    F32,   // fp32 values
    Q8G,   // llama2.c "version 2": int8 values + separate fp32 scale per group of gs
    F16,
    BF16,
    Q8_0,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_1,  // activations only (Q4_1, Q5_1)
    Q8_K,  // activations only (the K formats)
};
constexpr int format_count = 16;

constexpr u32 no_ggml_type = 0xffffffffu;

// n values (a multiple of the block size) from `blocks` to fp32 / from fp32 into blocks.
using DequantizeRowFn = void (*)(const void* blocks, float* out, u64 n);
using QuantizeRowFn = void (*)(const float* x, void* blocks, u64 n);
// Q8G's quantiser: ref::quantize_q8's signature (values and scales apart, group size gs).
using QuantizeGroupsFn = void (*)(const float* x, i8* q, float* scales, u32 n, u32 gs);

struct FormatInfo {
    const char* name;               // "f32", "q8", "f16", "q4_0", "q4_k", ...
    u32 ggml_type;                  // GGUF / ggml type id; no_ggml_type for Q8G
    u32 block_values;               // values per block (1 for F32, F16, BF16; 0 for Q8G: the group size is the shape's gs)
    u32 block_bytes;                // bytes per block (Q8G: 0; its rows are one byte per value, scales apart)
    Format activation;              // the format the activations are converted to
    bool activation_only;           // Q8_1, Q8_K: no weight kernel
    DequantizeRowFn dequantize_row; // null for Q8G (its scales live apart)
    QuantizeRowFn quantize_row;     // null for Q8G (quantize_groups instead), and in the kernel for the
                                    // weight-only formats (quantised on the host: quantize_weights.host.cpp)
    QuantizeGroupsFn quantize_groups; // Q8G only
    KernelFn reference;             // the reference matrix kernel; null for activation-only formats
};

const FormatInfo& format_info(Format format);
inline const char* format_name(Format format) { return format_info(format).name; }

// Integer formats (Q8G and the block formats): their kernels use byte and word ops.
constexpr bool is_quantized(Format f) { return f != Format::F32 && f != Format::F16 && f != Format::BF16; }
// One 16-bit value per weight (F16, BF16): the fp32 kernels with a converting load.
constexpr bool is_halves(Format f) { return f == Format::F16 || f == Format::BF16; }

// The format of a ggml type id. Unknown and unsupported ids (IQ*, TQ*, I8..F64, MXFP4,
// ...) are an error naming the id and, where ggml has one, its name (GgufTensor).
kl::ErrorOr<Format> format_from_ggml_type(u32 ggml_type);
// ggml's name of a type id ("Q4_K", "IQ2_XXS"), or "unknown".
const char* ggml_type_name(u32 ggml_type);

// Bytes of one row of n values (n a multiple of the block size; Q8G: the int8 values only,
// its scales live apart). Unchecked: for shapes already validated.
u64 weight_row_bytes(Format format, u64 n);

// The same for sizes from untrusted files: n must be a multiple of the block size
// (InvalidArgument otherwise, naming both); overflow-checked.
kl::ErrorOr<u64> row_bytes(Format format, u64 n);
// Bytes of rows x n values (overflow-checked, InvalidArgument on overflow).
kl::ErrorOr<u64> matrix_bytes(Format format, u64 rows, u64 n);

}
