// Attention and softmax (see ops.h): the forward pass's loops whose cost grows with the
// context, built for speed in the kernel (the rest of ops.cpp is built for size). The
// summation orders are run.c's, as in ops.cpp.
#include "tinyllama/ops.h"

#include <string.h>

#include "kernel_lib/libm/math.h"

namespace tllama {

void softmax(float* x, i32 n)
{
    float max = x[0];
    for (i32 i = 1; i < n; ++i) {
        if (x[i] > max)
            max = x[i];
    }
    float sum = 0.0f;
    for (i32 i = 0; i < n; ++i) {
        x[i] = kl::expf(x[i] - max);
        sum += x[i];
    }
    for (i32 i = 0; i < n; ++i)
        x[i] /= sum;
}

// One head's scores for keys t .. t + lanes - 1: each score is the sequential dot product
// of formats.md (same operation order as one key at a time), but `lanes` independent sums
// are in flight, so the loop runs at the multiplier's throughput instead of its latency.
template<int lanes>
void score_block(float* scores, const float* qh, const float* k_cache, i64 kv_dim, i64 kv_offset, i32 t,
    i32 head_size, float scale)
{
    const float* k[lanes];
    float sum[lanes];
    for (int j = 0; j < lanes; ++j) {
        k[j] = k_cache + static_cast<i64>(t + j) * kv_dim + kv_offset;
        sum[j] = 0.0f;
    }
    for (i32 i = 0; i < head_size; ++i) {
        const float qi = qh[i];
        for (int j = 0; j < lanes; ++j)
            sum[j] += qi * k[j][i];
    }
    for (int j = 0; j < lanes; ++j)
        scores[t + j] = sum[j] / scale;
}

// The cache is walked position by position, every head of the range at each: a position's
// keys (and values) are one contiguous row of kv_dim floats, so the walk is a sequential
// stream the hardware prefetchers follow. (Head by head, the walk would jump a whole row
// for every head_size floats it reads, and stall on memory once the cache has left the
// CPU caches.) Each score and each output element still sees its terms in run.c's order.
void attention_heads(float* out, const float* q, const float* k_cache, const float* v_cache, float* att,
    i32 att_stride, i32 pos, i32 n_heads, i32 n_kv_heads, i32 head_size, i32 head_begin, i32 head_end)
{
    const i32 kv_dim = n_kv_heads * head_size;
    const i32 kv_mul = n_heads / n_kv_heads;
    const float scale = kl::sqrtf(static_cast<float>(head_size));
    auto kv_offset = [&](i32 h) { return static_cast<i64>(h / kv_mul) * head_size; };
    auto scores_of = [&](i32 h) { return att + static_cast<i64>(h) * att_stride; };

    // Scores, 8 positions at a time for every head.
    i32 t = 0;
    for (; t + 8 <= pos + 1; t += 8) {
        for (i32 h = head_begin; h < head_end; ++h)
            score_block<8>(scores_of(h), q + static_cast<i64>(h) * head_size, k_cache, kv_dim, kv_offset(h), t,
                head_size, scale);
    }
    for (; t <= pos; ++t) {
        for (i32 h = head_begin; h < head_end; ++h)
            score_block<1>(scores_of(h), q + static_cast<i64>(h) * head_size, k_cache, kv_dim, kv_offset(h), t,
                head_size, scale);
    }
    for (i32 h = head_begin; h < head_end; ++h)
        softmax(scores_of(h), pos + 1);

    // The weighted sum of the values, position by position (each output element adds its
    // terms in position order, as run.c does head by head).
    memset(out + static_cast<i64>(head_begin) * head_size, 0,
        static_cast<usize>(head_end - head_begin) * static_cast<usize>(head_size) * sizeof(float));
    for (i32 t2 = 0; t2 <= pos; ++t2) {
        const float* vt = v_cache + static_cast<i64>(t2) * kv_dim;
        for (i32 h = head_begin; h < head_end; ++h) {
            float* oh = out + static_cast<i64>(h) * head_size;
            const float* vh = vt + kv_offset(h);
            const float a = scores_of(h)[t2];
            for (i32 i = 0; i < head_size; ++i)
                oh[i] += a * vh[i];
        }
    }
}

void attention(float* out, const float* q, const float* k_cache, const float* v_cache, float* att, i32 att_stride,
    i32 pos, i32 n_heads, i32 n_kv_heads, i32 head_size)
{
    attention_heads(out, q, k_cache, v_cache, att, att_stride, pos, n_heads, n_kv_heads, head_size, 0, n_heads);
}

}
