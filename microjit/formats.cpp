// The format table (see formats.h): one row per format, in the order of the enum.
#include "microjit/formats.h"

#include "microjit/blocks.h"
#include "microjit/quantize_blocks.h"
#include "microjit/reference.h"
#include "microjit/reference_blocks.h"

namespace mjit {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

using namespace ref;

// The kernel never quantises weights (the K formats' searches alone are 7 KB of code):
// the weight formats' quantisers live in quantize_weights.host.cpp, and the kernel's table
// has null there.
#if defined(BAREFLOW_KERNEL)
#define HOST_ONLY(fn) nullptr
#else
#define HOST_ONLY(fn) fn
#endif

// name, ggml type, values and bytes per block, activation format, activation only,
// dequantise, quantise, quantise in groups, reference kernel.
constexpr FormatInfo format_table[format_count] = {
    { "f32", 0, 1, 4, Format::F32, false, dequantize_f32, quantize_f32, nullptr, matmul_f32 },
    { "q8", no_ggml_type, 0, 0, Format::Q8G, false, nullptr, nullptr, quantize_q8, matmul_q8 },
    { "f16", 1, 1, 2, Format::F16, false, dequantize_f16, quantize_f16, nullptr, matmul_f16 },
    { "bf16", 30, 1, 2, Format::BF16, false, dequantize_bf16, quantize_bf16, nullptr, matmul_bf16 },
    { "q8_0", 8, 32, sizeof(BlockQ8_0), Format::Q8_0, false, dequantize_q8_0, quantize_q8_0, nullptr, matmul_q8_0 },
    { "q4_0", 2, 32, sizeof(BlockQ4_0), Format::Q8_0, false, dequantize_q4_0, HOST_ONLY(quantize_q4_0), nullptr, matmul_q4_0 },
    { "q4_1", 3, 32, sizeof(BlockQ4_1), Format::Q8_1, false, dequantize_q4_1, HOST_ONLY(quantize_q4_1), nullptr, matmul_q4_1 },
    { "q5_0", 6, 32, sizeof(BlockQ5_0), Format::Q8_0, false, dequantize_q5_0, HOST_ONLY(quantize_q5_0), nullptr, matmul_q5_0 },
    { "q5_1", 7, 32, sizeof(BlockQ5_1), Format::Q8_1, false, dequantize_q5_1, HOST_ONLY(quantize_q5_1), nullptr, matmul_q5_1 },
    { "q2_k", 10, 256, sizeof(BlockQ2_K), Format::Q8_K, false, dequantize_q2_k, HOST_ONLY(quantize_q2_k), nullptr, matmul_q2_k },
    { "q3_k", 11, 256, sizeof(BlockQ3_K), Format::Q8_K, false, dequantize_q3_k, HOST_ONLY(quantize_q3_k), nullptr, matmul_q3_k },
    { "q4_k", 12, 256, sizeof(BlockQ4_K), Format::Q8_K, false, dequantize_q4_k, HOST_ONLY(quantize_q4_k), nullptr, matmul_q4_k },
    { "q5_k", 13, 256, sizeof(BlockQ5_K), Format::Q8_K, false, dequantize_q5_k, HOST_ONLY(quantize_q5_k), nullptr, matmul_q5_k },
    { "q6_k", 14, 256, sizeof(BlockQ6_K), Format::Q8_K, false, dequantize_q6_k, HOST_ONLY(quantize_q6_k), nullptr, matmul_q6_k },
    { "q8_1", 9, 32, sizeof(BlockQ8_1), Format::Q8_1, true, dequantize_q8_1, quantize_q8_1, nullptr, nullptr },
    { "q8_k", 15, 256, sizeof(BlockQ8_K), Format::Q8_K, true, dequantize_q8_k, quantize_q8_k, nullptr, nullptr },
};

// ggml's type names by id (0..39), '\0'-separated; "-" where an id was never used or was
// removed. Only error messages need them.
constexpr char ggml_type_names[] =
    "F32\0F16\0Q4_0\0Q4_1\0Q4_2\0Q4_3\0Q5_0\0Q5_1\0Q8_0\0Q8_1\0Q2_K\0Q3_K\0Q4_K\0Q5_K\0Q6_K\0Q8_K\0"
    "IQ2_XXS\0IQ2_XS\0IQ3_XXS\0IQ1_S\0IQ4_NL\0IQ3_S\0IQ2_S\0IQ4_XS\0I8\0I16\0I32\0I64\0F64\0IQ1_M\0BF16\0"
    "Q4_0_4_4\0Q4_0_4_8\0Q4_0_8_8\0TQ1_0\0TQ2_0\0IQ4_NL_4_4\0IQ4_NL_4_8\0IQ4_NL_8_8\0MXFP4\0";
constexpr u32 ggml_type_name_count = 40;

}

const FormatInfo& format_info(Format format)
{
    const int index = static_cast<int>(format);
    VERIFY(index < format_count);
    return format_table[index];
}

const char* ggml_type_name(u32 ggml_type)
{
    if (ggml_type >= ggml_type_name_count)
        return "unknown";
    const char* name = ggml_type_names;
    for (u32 i = 0; i < ggml_type; ++i) {
        while (*name)
            ++name;
        ++name;
    }
    return name;
}

ErrorOr<Format> format_from_ggml_type(u32 ggml_type)
{
    for (int i = 0; i < format_count; ++i) {
        if (ggml_type != no_ggml_type && format_table[i].ggml_type == ggml_type && !format_table[i].activation_only)
            return static_cast<Format>(i);
    }
    return Error::make(ErrorCode::GgufTensor,
        "ggml type %u (%s) is not supported: BareFlow reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and Q2_K..Q6_K "
        "(convert the model to one of them)",
        ggml_type, ggml_type_name(ggml_type));
}

u64 weight_row_bytes(Format format, u64 n)
{
    const FormatInfo& f = format_info(format);
    if (f.block_values == 0)
        return n;  // Q8G: one byte per value
    return n / f.block_values * f.block_bytes;
}

ErrorOr<u64> row_bytes(Format format, u64 n)
{
    const FormatInfo& f = format_info(format);
    if (f.block_values == 0)
        return n;  // Q8G: one byte per value
    if (n % f.block_values != 0)
        return Error::make(ErrorCode::InvalidArgument, "a %s row of %llu values is not a whole number of %u-value blocks", f.name,
            static_cast<unsigned long long>(n), f.block_values);
    u64 bytes;
    if (!kl::checked_mul(n / f.block_values, f.block_bytes, bytes))
        return Error::make(ErrorCode::InvalidArgument, "a %s row of %llu values overflows 64 bits", f.name,
            static_cast<unsigned long long>(n));
    return bytes;
}

ErrorOr<u64> matrix_bytes(Format format, u64 rows, u64 n)
{
    const u64 row = TRY(row_bytes(format, n));
    u64 total;
    if (!kl::checked_mul(row, rows, total))
        return Error::make(ErrorCode::InvalidArgument, "%llu rows of %llu %s values overflow 64 bits",
            static_cast<unsigned long long>(rows), static_cast<unsigned long long>(n), format_info(format).name);
    return total;
}

}
