// Forward-pass operations (see ops.h; attention and softmax are in attention.cpp). Summation orders and rounding steps are those of
// run.c on purpose: e.g. rmsnorm multiplies by 1/sqrt rather than dividing, and the
// sampler's temperature divides; changing either changes sampled stories.
#include "tinyllama/ops.h"

#include <string.h>

#include "kernel_lib/cpu/features.h"
#include "kernel_lib/libm/math.h"

namespace tllama {

void rmsnorm(float* out, const float* x, const float* weight, i32 n, float epsilon)
{
    float ss = 0.0f;
    for (i32 j = 0; j < n; ++j)
        ss += x[j] * x[j];
    ss /= static_cast<float>(n);
    ss += epsilon;
    const float inv = 1.0f / kl::sqrtf(ss);
    for (i32 j = 0; j < n; ++j)
        out[j] = weight[j] * (inv * x[j]);
}

void rope_frequencies(float* freq, i32 head_size, float theta)
{
    for (i32 k = 0; k < head_size / 2; ++k)
        freq[k] = 1.0f / kl::powf(theta, static_cast<float>(2 * k) / static_cast<float>(head_size));
}

void rope_angles(float* cos_out, float* sin_out, const float* freq, i32 head_size, i32 pos)
{
    for (i32 k = 0; k < head_size / 2; ++k)
        kl::sincosf(static_cast<float>(pos) * freq[k], &sin_out[k], &cos_out[k]);
}

void rope_rotate(float* vec, i32 n, i32 head_size, const float* cos, const float* sin)
{
    for (i32 head = 0; head < n; head += head_size) {
        float* v = vec + head;
        for (i32 k = 0; k < head_size / 2; ++k) {
            const float v0 = v[2 * k], v1 = v[2 * k + 1];
            v[2 * k] = v0 * cos[k] - v1 * sin[k];
            v[2 * k + 1] = v0 * sin[k] + v1 * cos[k];
        }
    }
}

// A chunk's exponentials first (four at a time where the CPU has AVX2, expf's bits), then
// run.c's operations in run.c's order.
void swiglu(float* h1, const float* h3, i32 n)
{
    const bool avx2 = kl::cpu::features().avx2_usable;
    constexpr i32 chunk = 64;
    float e[chunk];
    for (i32 i = 0; i < n; i += chunk) {
        const i32 m = n - i < chunk ? n - i : chunk;
        for (i32 j = 0; j < m; ++j)
            e[j] = -h1[i + j];
        kl::expf_each(e, m, avx2);
        for (i32 j = 0; j < m; ++j)
            h1[i + j] = h1[i + j] * (1.0f / (1.0f + e[j])) * h3[i + j];
    }
}

void accumulate(float* x, const float* y, i32 n)
{
    for (i32 i = 0; i < n; ++i)
        x[i] += y[i];
}

}
