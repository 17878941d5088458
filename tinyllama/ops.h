// The element-wise and attention operations of the forward pass, one function each.
//
// Everything except the matrix products (which go through the dispatcher, see
// transformer.cpp) lives here, so unit tests can call each op directly. The arithmetic
// follows llama2.c's run.c operation for operation (same order, same float rounding
// steps) and uses only kernel_lib/libm, so the host tool and the kernel produce
// bit-identical results and the reference stories are reproduced byte for byte.
#pragma once

#include "kernel_lib/base/types.h"

namespace tllama {

// llama2.c's constants; GGUF files carry their own (llama.attention.layer_norm_rms_epsilon,
// llama.rope.freq_base).
constexpr float llama2c_rms_epsilon = 1e-5f;
constexpr float llama2c_rope_theta = 10000.0f;

// out[j] = weight[j] * (x[j] / sqrt(mean(x^2) + epsilon)); out may alias x.
void rmsnorm(float* out, const float* x, const float* weight, i32 n, float epsilon = llama2c_rms_epsilon);

// In place: x[i] = exp(x[i] - max) / sum (max subtracted first for range).
void softmax(float* x, i32 n);
// softmax of rows [first, end), row r at rows + r * stride, each n long; `avx2` (only where
// the CPU has it) takes the exponentials four at a time. The bits are softmax()'s either way.
void softmax_rows(float* rows, i64 stride, i32 n, i32 first, i32 end, bool avx2);

// The RoPE frequency of each pair within a head: freq[k] = 1 / theta^(2k / head_size),
// k < head_size / 2. Computed once per model.
void rope_frequencies(float* freq, i32 head_size, float theta = llama2c_rope_theta);

// cos/sin of pos * freq[k] for one position (the same for every head).
void rope_angles(float* cos_out, float* sin_out, const float* freq, i32 head_size, i32 pos);

// Rotates each even/odd pair (v0, v1) of every head of vec[n] by the angle of its
// index within the head: (v0*cos - v1*sin, v0*sin + v1*cos).
void rope_rotate(float* vec, i32 n, i32 head_size, const float* cos, const float* sin);

// Causal self-attention of one token at position pos over cached keys/values.
//   out      [n_heads * head_size]         concatenated head outputs
//   q        [n_heads * head_size]         this token's (rotated) queries
//   k_cache  [pos + 1][kv_dim], row stride kv_dim = n_kv_heads * head_size
//   v_cache  [pos + 1][kv_dim]
//   att      [n_heads][att_stride] scratch, att_stride >= pos + 1
// Query head h reads kv head h / (n_heads / n_kv_heads) (grouped-query attention).
void attention(float* out, const float* q, const float* k_cache, const float* v_cache, float* att, i32 att_stride,
    i32 pos, i32 n_heads, i32 n_kv_heads, i32 head_size);
// The same for heads [head_begin, head_end) only (the heads are independent: cores split them).
void attention_heads(float* out, const float* q, const float* k_cache, const float* v_cache, float* att,
    i32 att_stride, i32 pos, i32 n_heads, i32 n_kv_heads, i32 head_size, i32 head_begin, i32 head_end);

// In place SwiGLU: h1[i] = silu(h1[i]) * h3[i], silu(a) = a / (1 + exp(-a)).
void swiglu(float* h1, const float* h3, i32 n);

// x[i] += y[i] (the residual connection).
void accumulate(float* x, const float* y, i32 n);

}
