// Attention and softmax (see ops.h): the forward pass's loops whose cost grows with the
// context, built for speed in the kernel (the rest of ops.cpp is built for size). The
// summation orders are run.c's, as in ops.cpp.
#include "tinyllama/ops.h"

#include <emmintrin.h>
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

// Heads up to this size can be scored four at a time (their interleaved queries live on
// the stack).
constexpr i32 max_grouped_head_size = 128;
// Positions whose values one pass over an output head adds (their rows stay in L1 while
// every head reads them).
constexpr i32 value_block = 16;

// Grouped-query attention: the scores of keys 0 .. (pos + 1) rounded down to a multiple of
// 4, four heads at a time, when every aligned four of the range share a key head; returns
// the keys done (0 when not). Each score is still the sequential dot product, computed as
// score_block does, but an SSE vector holds one key's sums for the four heads (q4 = their
// queries interleaved, [head_size][4]): every key value is loaded once for four heads, and
// 16 sums (four keys) are in flight. Keys go in runs of 32, whose cache rows stay in L1
// while each four heads read them.
i32 score_grouped(float* att, i32 att_stride, const float* q, const float* k_cache, i64 kv_dim, i32 pos,
    i32 kv_mul, i32 head_size, i32 head_begin, i32 head_end, float scale)
{
    if (kv_mul % 4 != 0 || head_begin % 4 != 0 || head_end % 4 != 0 || head_size > max_grouped_head_size)
        return 0;
    alignas(16) float q4[4 * max_grouped_head_size];
    const i32 keys = (pos + 1) & ~3;
    for (i32 run = 0; run < keys; run += 32) {
        const i32 run_end = run + 32 < keys ? run + 32 : keys;
        for (i32 h = head_begin; h < head_end; h += 4) {
#pragma clang loop vectorize(disable) unroll(disable)
            for (i32 i = 0; i < 4 * head_size; ++i)
                q4[i] = q[static_cast<i64>(h + i % 4) * head_size + i / 4];
            const float* k = k_cache + static_cast<i64>(h / kv_mul) * head_size + run * kv_dim;
            for (i32 t = run; t < run_end; t += 4, k += 4 * kv_dim) {
                __m128 sum[4] = { _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps() };
#pragma clang loop unroll(disable)
                for (i32 i = 0; i < head_size; ++i) {
                    const __m128 qi = _mm_load_ps(q4 + 4 * i);
                    for (int p = 0; p < 4; ++p)
                        sum[p] = _mm_add_ps(sum[p], _mm_mul_ps(qi, _mm_set1_ps(k[p * kv_dim + i])));
                }
                for (int p = 0; p < 4; ++p)
                    sum[p] = _mm_div_ps(sum[p], _mm_set1_ps(scale));
                // Vector p held key p's scores (lane = head); transposed, vector j holds
                // head j's scores of the four keys, consecutive in its row of att.
                _MM_TRANSPOSE4_PS(sum[0], sum[1], sum[2], sum[3]);
                for (int j = 0; j < 4; ++j)
                    _mm_storeu_ps(att + static_cast<i64>(h + j) * att_stride + t, sum[j]);
            }
        }
    }
    return keys;
}

namespace {

// out[0 .. head_size) += weights[t] * v[t * kv_dim + i] for t = 0 .. count - 1, each element's
// terms in that order: 16 elements at a time in registers (every head size of the models
// at hand is a multiple of 16 but stories260K's 8), the rest one at a time.
void add_values(float* out, const float* weights, const float* v, i64 kv_dim, i32 count, i32 head_size)
{
    i32 i = 0;
#pragma clang loop unroll(disable)
    for (; i + 16 <= head_size; i += 16) {
        __m128 sum[4];
        for (int j = 0; j < 4; ++j)
            sum[j] = _mm_loadu_ps(out + i + 4 * j);
        const float* vt = v + i;
#pragma clang loop unroll(disable)
        for (i32 t = 0; t < count; ++t, vt += kv_dim) {
            const __m128 weight = _mm_set1_ps(weights[t]);
            for (int j = 0; j < 4; ++j)
                sum[j] = _mm_add_ps(sum[j], _mm_mul_ps(weight, _mm_loadu_ps(vt + 4 * j)));
        }
        for (int j = 0; j < 4; ++j)
            _mm_storeu_ps(out + i + 4 * j, sum[j]);
    }
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i < head_size; ++i) {
        float sum = out[i];
        for (i32 t = 0; t < count; ++t)
            sum += weights[t] * v[t * kv_dim + i];
        out[i] = sum;
    }
}

}

// The cache is walked position by position, every head of the range at each: a position's
// keys (and values) are one contiguous row of kv_dim floats, so the walk is a sequential
// stream the hardware prefetchers follow. (Head by head, the walk would jump a whole row
// for every head_size floats it reads, and stall on memory once the cache has left the
// CPU caches; the grouped scores walk it in runs of 32 positions, the value sums in
// blocks of 16.) Each score and each output element still sees its terms in run.c's order.
void attention_heads(float* out, const float* q, const float* k_cache, const float* v_cache, float* att,
    i32 att_stride, i32 pos, i32 n_heads, i32 n_kv_heads, i32 head_size, i32 head_begin, i32 head_end)
{
    const i32 kv_dim = n_kv_heads * head_size;
    const i32 kv_mul = n_heads / n_kv_heads;
    const float scale = kl::sqrtf(static_cast<float>(head_size));
    auto kv_offset = [&](i32 h) { return static_cast<i64>(h / kv_mul) * head_size; };
    auto scores_of = [&](i32 h) { return att + static_cast<i64>(h) * att_stride; };

    // Scores: four heads at a time where they share a key head, else 8 positions at a
    // time for every head.
    i32 t = score_grouped(att, att_stride, q, k_cache, kv_dim, pos, kv_mul, head_size, head_begin, head_end, scale);
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

    // The weighted sum of the values, in blocks of positions: each piece of an output head
    // is held in registers across a block (loaded before it, stored after), and adds its
    // terms in position order, as run.c does head by head. Block after block, the walk
    // over the cache stays sequential.
    memset(out + static_cast<i64>(head_begin) * head_size, 0,
        static_cast<usize>(head_end - head_begin) * static_cast<usize>(head_size) * sizeof(float));
    for (i32 first = 0; first <= pos; first += value_block) {
        const i32 count = kl::min(value_block, pos + 1 - first);
        const float* v_first = v_cache + static_cast<i64>(first) * kv_dim;
        for (i32 h = head_begin; h < head_end; ++h)
            add_values(out + static_cast<i64>(h) * head_size, scores_of(h) + first, v_first + kv_offset(h), kv_dim, count,
                head_size);
    }
}

void attention(float* out, const float* q, const float* k_cache, const float* v_cache, float* att, i32 att_stride,
    i32 pos, i32 n_heads, i32 n_kv_heads, i32 head_size)
{
    attention_heads(out, q, k_cache, v_cache, att, att_stride, pos, n_heads, n_kv_heads, head_size, 0, n_heads);
}

}
