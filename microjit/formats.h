// The weight and activation formats the kernels read, one row each in a plain-data table
// (as ggml's type traits): what a block holds, which activation format the weights pair
// with, and the reference kernels. The engine, the micro-JIT and the model readers look a
// format up here instead of switching on it in many places.
//
// F32 and Q8G (llama2.c's int8 "version 2": int8 values with a separate fp32 scale per
// group of gs values, gs chosen by the file) are the llama2.c formats; the others are
// ggml's block formats, which GGUF files use.
#pragma once

#include "microjit/kernel_abi.h"

namespace mjit {

enum class Format : u8 { F32, Q8G, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_1, Q8_K };
constexpr int format_count = 16;

struct FormatInfo {
    const char* name;         // "f32", "q8" (Q8G), "q4_k", ...
    u32 ggml_type;            // ggml's type id, or no_ggml_type
    u32 block_values;         // values per block (1 for F32; 0 for Q8G: the group size is the shape's gs)
    u32 block_bytes;          // bytes per block
    Format activation;        // the format the activations are converted to for a dot product
    KernelFn reference;       // the reference matrix kernel (null: an activation-only format)
};
constexpr u32 no_ggml_type = ~0u;

const FormatInfo& format_info(Format format);

// Bytes of one row of n values (n a multiple of the block size; Q8G: the int8 values only,
// its scales live apart).
u64 weight_row_bytes(Format format, u64 n);

}
