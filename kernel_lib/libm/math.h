// BareFlow's libm subset: the float functions the inference engine needs.
//
// The same implementations run in the kernel and in the host tools, so the host tool and
// the booted kernel compute bit-identical results. expf, powf, sinf, cosf and sincosf
// follow glibc's algorithms and return glibc's bits (x86-64, FMA build) so that stories
// match run.c's; logf is within 1 ulp; sqrt, floor, round and fabs are exact
// (tests/host/kernel_lib/libm_test.cpp). In the kernel build the C names (expf, sqrtf,
// ...) forward to these.
#pragma once

namespace kl {

float expf(float x);
// x[i] = expf(x[i]) for i < n, four at a time in AVX2 registers (the caller checks that the CPU
// has AVX2): each lane takes expf's steps in expf's order, so the bits are expf's.
void expf_avx2(float* x, int n);
// The same eight at a time in AVX-512 registers (the caller checks that the CPU has AVX-512).
void expf_avx512(float* x, int n);
// x[i] = expf(x[i]) for i < n: by expf_avx2 when `avx2` (the caller's word that the CPU has
// it; by expf_avx512 when it has AVX-512 too), else one at a time. The same bits either way.
void expf_each(float* x, int n, bool avx2);
float logf(float x);
float powf(float x, float y);
float sinf(float x);
float cosf(float x);
// Both at once, for RoPE (one range reduction).
void sincosf(float x, float* sin_out, float* cos_out);
float sqrtf(float x);
float fabsf(float x);
float floorf(float x);
float roundf(float x);  // halfway cases away from zero, as C's roundf
double sqrt(double x);
double fabs(double x);
double floor(double x);

}
