// Scalar reference kernels (see reference.h).
#include "microjit/reference.h"

#include <string.h>

#include "kernel_lib/libm/math.h"

// No fused multiply-add, whatever the command line says: every product is rounded before
// it is added (reference.h). The Makefile passes -ffp-contract=off as well.
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace mjit::ref {

float dot_f32(const float* w, const float* x, u32 n)
{
    float acc[16] = {};
    u32 j = 0;
    for (; j + 16 <= n; j += 16) {
        for (u32 l = 0; l < 16; ++l) {
            const float product = w[j + l] * x[j + l];
            acc[l] = acc[l] + product;
        }
    }
    // The short last chunk touches only its own lanes (no "+ 0.0f" elsewhere).
    for (u32 l = 0; j + l < n; ++l) {
        const float product = w[j + l] * x[j + l];
        acc[l] = acc[l] + product;
    }
    float s8[8], s4[4];
    for (u32 k = 0; k < 8; ++k)
        s8[k] = acc[k] + acc[k + 8];
    for (u32 k = 0; k < 4; ++k)
        s4[k] = s8[k] + s8[k + 4];
    const float s2_0 = s4[0] + s4[2];
    const float s2_1 = s4[1] + s4[3];
    return s2_0 + s2_1;
}

void matmul_f32(const KernelArgs* a)
{
    const float* w = static_cast<const float*>(a->w);
    const float* x = static_cast<const float*>(a->x);
    for (u32 tok = 0; tok < a->t; ++tok) {
        const float* xt = x + static_cast<u64>(tok) * a->n;
        float* out = static_cast<float*>(a->out) + static_cast<u64>(tok) * a->d;
        for (u64 row = a->row_begin; row < a->row_end; ++row)
            out[row] = dot_f32(w + row * a->n, xt, a->n);
    }
}

void matmul_q8(const KernelArgs* a)
{
    const i8* w = static_cast<const i8*>(a->w);
    const i8* x = static_cast<const i8*>(a->x);
    const u32 groups = a->n / a->gs;
    for (u32 tok = 0; tok < a->t; ++tok) {
        const i8* xt = x + static_cast<u64>(tok) * a->n;
        const float* xs = a->x_scale + static_cast<u64>(tok) * groups;
        float* out = static_cast<float*>(a->out) + static_cast<u64>(tok) * a->d;
        for (u64 row = a->row_begin; row < a->row_end; ++row) {
            const i8* wr = w + row * a->n;
            const float* ws = a->w_scale + row * groups;
            float sum = 0.0f;
            for (u32 g = 0; g < groups; ++g) {
                i32 isum = 0;
                for (u32 k = 0; k < a->gs; ++k)
                    isum += static_cast<i32>(xt[g * a->gs + k]) * static_cast<i32>(wr[g * a->gs + k]);
                // ((float)isum * ws) * xs, then added: three roundings, in this order.
                sum += static_cast<float>(isum) * ws[g] * xs[g];
            }
            out[row] = sum;
        }
    }
}


void quantize_q8(const float* x, i8* q, float* scales, u32 n, u32 gs)
{
    for (u32 g = 0; g < n / gs; ++g) {
        const float* xg = x + g * gs;
        float wmax = 0.0f;
        for (u32 i = 0; i < gs; ++i) {
            float v = kl::fabsf(xg[i]);
            if (v > wmax)
                wmax = v;
        }
        const float scale = wmax / 127.0f;
        scales[g] = scale;
        for (u32 i = 0; i < gs; ++i)
            q[g * gs + i] = scale == 0.0f ? 0 : static_cast<i8>(kl::roundf(xg[i] / scale));
    }
}

void quantize_q8_kernel(const KernelArgs* a)
{
    if (a->row_end <= a->row_begin)
        return;
    const u64 groups = a->n / a->gs;
    const u32 values = static_cast<u32>((a->row_end - a->row_begin) * a->gs);
    for (u32 tok = 0; tok < a->t; ++tok) {
        const u64 first = tok * groups + a->row_begin;
        quantize_q8(static_cast<const float*>(a->x) + first * a->gs, static_cast<i8*>(a->out) + first * a->gs,
            a->out_scale + first, values, a->gs);
    }
}

void copy(const KernelArgs* a) { memcpy(a->out, a->x, a->n); }

namespace {

KernelFn quantizer_for(Format format)
{
    switch (format) {
    case Format::Q8G: return quantize_q8_kernel;
    case Format::F16: return quantize_blocks_kernel<Format::F16>;
    case Format::BF16: return quantize_blocks_kernel<Format::BF16>;
    case Format::Q8_0: return quantize_blocks_kernel<Format::Q8_0>;
    case Format::Q8_1: return quantize_blocks_kernel<Format::Q8_1>;
    case Format::Q8_K: return quantize_blocks_kernel<Format::Q8_K>;
    default: return nullptr;  // not an activation format
    }
}

}

KernelFn kernel_for(Op op)
{
    switch (op.kind) {
    case OpKind::Matvec:
    case OpKind::Matmul: return format_info(op.format).reference;
    case OpKind::Quantize: return quantizer_for(op.format);
    case OpKind::Copy: return copy;
    }
    return nullptr;
}

}
