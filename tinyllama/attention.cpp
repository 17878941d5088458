// Attention and softmax (see ops.h): the forward pass's loops whose cost grows with the
// context, built for speed in the kernel (the rest of ops.cpp is built for size). The
// summation orders are run.c's, as in ops.cpp. SSE2 serves every CPU; where the CPU has
// AVX2 the grouped-query scores, the value sums and softmax's exponentials run eight, eight
// and four lanes wide, every lane taking the same operations in the same order, so the bits
// do not depend on the path (tests/host/tinyllama/ops_test.cpp checks both).
#include "tinyllama/ops.h"

#include <immintrin.h>
#include <string.h>

#include "kernel_lib/cpu/features.h"
#include "kernel_lib/libm/math.h"

namespace tllama {

namespace {

// One token's attention over the cache, heads [begin, end): what every loop below reads.
struct Problem {
    const float* q;
    const float* k_cache;
    float* att;
    i64 att_stride, kv_dim;
    i32 pos, kv_mul, head_size, begin, end;
    float scale;

    // (Inlined despite the file's inline threshold, which is set for size.)
    [[gnu::always_inline]] float* scores(i32 h) const { return att + h * att_stride; }
    [[gnu::always_inline]] const float* query(i32 h) const { return q + static_cast<i64>(h) * head_size; }
    [[gnu::always_inline]] i64 kv_offset(i32 h) const { return static_cast<i64>(h / kv_mul) * head_size; }
};

// Head h's scores for keys t .. t + lanes - 1: each score is the sequential dot product
// of formats.md (same operation order as one key at a time), but `lanes` independent sums
// are in flight, so the loop runs at the multiplier's throughput instead of its latency.
template<int lanes>
void score_block(const Problem& p, i32 h, i32 t)
{
    const float* qh = p.query(h);
    const i32 head_size = p.head_size;
    const float* k[lanes];
    float sum[lanes];
#pragma clang loop unroll(full)
    for (int j = 0; j < lanes; ++j) {
        k[j] = p.k_cache + (t + j) * p.kv_dim + p.kv_offset(h);
        sum[j] = 0.0f;
    }
#pragma clang loop vectorize(disable) unroll(disable)
    for (i32 i = 0; i < head_size; ++i) {
        const float qi = qh[i];
#pragma clang loop unroll(full)
        for (int j = 0; j < lanes; ++j)
            sum[j] += qi * k[j][i];
    }
    float* scores = p.scores(h) + t;
#pragma clang loop unroll(full)
    for (int j = 0; j < lanes; ++j)
        scores[j] = sum[j] / p.scale;
}

// Heads whose queries fit this many floats together (TinyLlama's 32 of 64, Llama-3-8B's 32
// of 128) are scored eight at a time: the queries, interleaved, live on the stack.
constexpr i32 max_grouped_floats = 4096;
// Positions whose values one pass over an output head adds (their rows stay in L1 while
// every head reads them).
constexpr i32 value_block = 16;

// AVX2, grouped-query attention: the scores of keys 0 .. pos (at least four of them), eight
// heads at a time, when every aligned eight of the range share a key head; returns the keys
// done (0 when not). The last 1-3 keys go as a block of four too, the one ending at pos:
// it scores up to three keys again, with the same bits. A vector holds one key's sums for the eight
// heads (q8: each eight heads' queries interleaved, [head_size][8]): every key value is
// loaded once for eight heads, and 32 sums (four keys) are in flight. Each lane still
// multiplies, then adds, term after term (no FMA), so every score is score_block's. Keys go
// in runs of 32, whose cache rows stay in L1 while each eight heads read them. The queries
// are interleaved once per call (once per run and eight heads, it had taken a quarter of
// the time at 1,443 positions).
__attribute__((target("avx2"))) i32 score_grouped8(const Problem& p)
{
    const i32 heads = p.end - p.begin;
    if (p.kv_mul % 8 != 0 || p.begin % 8 != 0 || p.end % 8 != 0 || heads * p.head_size > max_grouped_floats)
        return 0;
    alignas(32) float q8[max_grouped_floats];
    for (i32 g = 0; g < heads; g += 8)
#pragma clang loop vectorize(disable) unroll(disable)
        for (i32 i = 0; i < 8 * p.head_size; ++i)
            q8[g * p.head_size + i] = p.query(p.begin + g + i % 8)[i / 8];
    const i32 keys = p.pos >= 3 ? p.pos + 1 : 0;
    const __m256 divisor = _mm256_set1_ps(p.scale);
    for (i32 run = 0; run < keys; run += 32) {
        const i32 run_end = run + 32 < keys ? run + 32 : keys;
        for (i32 h = p.begin; h < p.end; h += 8) {
            const float* q = q8 + (h - p.begin) * p.head_size;
            for (i32 block = run; block < run_end; block += 4) {
                const i32 t = kl::min(block, p.pos - 3);
                const float* k = p.k_cache + p.kv_offset(h) + t * p.kv_dim;
                __m256 sum[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
#pragma clang loop unroll(disable)
                for (i32 i = 0; i < p.head_size; ++i) {
                    const __m256 qi = _mm256_load_ps(q + 8 * i);
#pragma clang loop unroll(full)
                    for (int key = 0; key < 4; ++key)
                        sum[key] = _mm256_add_ps(sum[key], _mm256_mul_ps(qi, _mm256_broadcast_ss(k + key * p.kv_dim + i)));
                }
                // Vector `key` holds key t + key's scores (lane = head); transposed, heads
                // h .. h + 3 from the low halves, h + 4 .. h + 7 from the high ones.
                __m128 low[4], high[4];
#pragma clang loop unroll(full)
                for (int key = 0; key < 4; ++key) {
                    sum[key] = _mm256_div_ps(sum[key], divisor);
                    low[key] = _mm256_castps256_ps128(sum[key]);
                    high[key] = _mm256_extractf128_ps(sum[key], 1);
                }
                _MM_TRANSPOSE4_PS(low[0], low[1], low[2], low[3]);
                _MM_TRANSPOSE4_PS(high[0], high[1], high[2], high[3]);
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; ++j) {
                    _mm_storeu_ps(p.scores(h + j) + t, low[j]);
                    _mm_storeu_ps(p.scores(h + 4 + j) + t, high[j]);
                }
            }
        }
    }
    return keys;
}

// out[0 .. head_size) += weights[t] * v[t * kv_dim + i] for t = 0 .. count - 1, each element's
// terms in that order: 16 elements at a time in registers (every head size of the models
// at hand is a multiple of 16 but stories260K's 8), the rest one at a time. Vec is four
// floats (SSE2) or eight (AVX2: inlined into add_values_avx2, which has the ISA).
template<typename Vec>
[[gnu::always_inline]] inline void add_values_in(float* out, const float* weights, const float* v, i64 kv_dim, i32 count,
    i32 head_size)
{
    constexpr int vecs = 16 * sizeof(float) / sizeof(Vec);
    i32 i = 0;
#pragma clang loop unroll(disable)
    for (; i + 16 <= head_size; i += 16) {
        Vec sum[vecs];
        memcpy(sum, out + i, sizeof(sum));
        const float* vt = v + i;
#pragma clang loop unroll(disable)
        for (i32 t = 0; t < count; ++t, vt += kv_dim) {
            Vec values[vecs];
            memcpy(values, vt, sizeof(values));
#pragma clang loop unroll(full)
            for (int j = 0; j < vecs; ++j)
                sum[j] += weights[t] * values[j];
        }
        memcpy(out + i, sum, sizeof(sum));
    }
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i < head_size; ++i) {
        float sum = out[i];
        for (i32 t = 0; t < count; ++t)
            sum += weights[t] * v[t * kv_dim + i];
        out[i] = sum;
    }
}

using Floats4 = float __attribute__((vector_size(16)));
using Floats8 = float __attribute__((vector_size(32)));

void add_values(float* out, const float* weights, const float* v, i64 kv_dim, i32 count, i32 head_size)
{
    add_values_in<Floats4>(out, weights, v, kv_dim, count, head_size);
}

__attribute__((target("avx2"))) void add_values_avx2(float* out, const float* weights, const float* v, i64 kv_dim,
    i32 count, i32 head_size)
{
    add_values_in<Floats8>(out, weights, v, kv_dim, count, head_size);
}

// x[i] = x[i] - by (subtract) or x[i] / by, four at a time: the scalar operation per element.
void sub_or_div(float* x, i32 n, float by, bool subtract)
{
    const __m128 b = _mm_set1_ps(by);
    i32 i = 0;
#pragma clang loop unroll(disable)
    for (; i + 4 <= n; i += 4) {
        const __m128 v = _mm_loadu_ps(x + i);
        _mm_storeu_ps(x + i, subtract ? _mm_sub_ps(v, b) : _mm_div_ps(v, b));
    }
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i < n; ++i)
        x[i] = subtract ? x[i] - by : x[i] / by;
}

// The largest of x[0 .. n) as run.c's loop finds it (a value replaces only a smaller one):
// four lanes that start at x[0] (maxps keeps its second operand unless the first is
// larger), then folded. The same value; at most the sign of a zero maximum can
// differ, and x - (+0) and x - (-0) take expf to the same bits.
float row_max(const float* x, i32 n)
{
    __m128 lanes = _mm_set1_ps(x[0]);
    i32 i = 1;
#pragma clang loop unroll(disable)
    for (; i + 4 <= n; i += 4)
        lanes = _mm_max_ps(_mm_loadu_ps(x + i), lanes);
    lanes = _mm_max_ps(_mm_movehl_ps(lanes, lanes), lanes);
    float max = _mm_cvtss_f32(_mm_max_ss(_mm_shuffle_ps(lanes, lanes, 1), lanes));
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i < n; ++i)
        max = x[i] > max ? x[i] : max;
    return max;
}

}

// Per row: the maximum (row_max), x - max, the exponentials. Then each row's sum still adds
// its terms in order, but four rows' sums share a vector, so the adds do not wait on each
// other.
void softmax_rows(float* att, i64 att_stride, i32 n, i32 first, i32 end, bool avx2)
{
    for (i32 h = first; h < end; ++h) {
        float* x = att + static_cast<i64>(h) * att_stride;
        sub_or_div(x, n, row_max(x, n), true);
        kl::expf_each(x, n, avx2);
    }
    for (i32 h = first; h < end; h += 4) {
        // Rows past the end repeat row h (their sums are not used).
        auto row = [&](i32 j) { return att + static_cast<i64>(h + j < end ? h + j : h) * att_stride; };
        const float *r0 = row(0), *r1 = row(1), *r2 = row(2), *r3 = row(3);
        __m128 sum = _mm_setzero_ps();
#pragma clang loop unroll(disable)
        for (i32 i = 0; i < n; ++i)
            sum = _mm_add_ps(sum, _mm_setr_ps(r0[i], r1[i], r2[i], r3[i]));
        alignas(16) float sums[4];
        _mm_store_ps(sums, sum);
        for (int j = 0; j < 4 && h + j < end; ++j)
            sub_or_div(row(j), n, sums[j], false);
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
    const Problem p { q, k_cache, att, att_stride, static_cast<i64>(n_kv_heads) * head_size, pos,
        n_heads / n_kv_heads, head_size, head_begin, head_end, kl::sqrtf(static_cast<float>(head_size)) };
    const bool avx2 = kl::cpu::features().avx2_usable;

    // Scores: eight heads at a time where they share a key head (AVX2), else 8 positions at
    // a time for every head.
    i32 t = avx2 ? score_grouped8(p) : 0;
    for (; t + 8 <= pos + 1; t += 8)
        for (i32 h = head_begin; h < head_end; ++h)
            score_block<8>(p, h, t);
    for (; t <= pos; ++t)
        for (i32 h = head_begin; h < head_end; ++h)
            score_block<1>(p, h, t);
    softmax_rows(att, att_stride, pos + 1, head_begin, head_end, avx2);

    // The weighted sum of the values, in blocks of positions: each piece of an output head
    // is held in registers across a block (loaded before it, stored after), and adds its
    // terms in position order, as run.c does head by head. Block after block, the walk
    // over the cache stays sequential.
    memset(out + static_cast<i64>(head_begin) * head_size, 0,
        static_cast<usize>(head_end - head_begin) * static_cast<usize>(head_size) * sizeof(float));
    for (i32 first = 0; first <= pos; first += value_block) {
        const i32 count = kl::min(value_block, pos + 1 - first);
        const float* v_first = v_cache + first * p.kv_dim;
        for (i32 h = head_begin; h < head_end; ++h)
            (avx2 ? add_values_avx2 : add_values)(out + static_cast<i64>(h) * head_size, p.scores(h) + first,
                v_first + p.kv_offset(h), p.kv_dim, count, head_size);
    }
}

void attention(float* out, const float* q, const float* k_cache, const float* v_cache, float* att, i32 att_stride,
    i32 pos, i32 n_heads, i32 n_kv_heads, i32 head_size)
{
    attention_heads(out, q, k_cache, v_cache, att, att_stride, pos, n_heads, n_kv_heads, head_size, 0, n_heads);
}

void softmax(float* x, i32 n)
{
    softmax_rows(x, n, n, 0, 1, kl::cpu::features().avx2_usable);
}

}
