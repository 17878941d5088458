// math.h for the freestanding kernel build: the C names of kernel_lib/libm (whose header,
// kernel_lib/libm/math.h, BareFlow code should include instead: kl::expf ...).
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

#define INFINITY (__builtin_inff())
#define NAN (__builtin_nanf(""))
#define HUGE_VALF (__builtin_huge_valf())
#define HUGE_VAL (__builtin_huge_val())

#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define isfinite(x) __builtin_isfinite(x)
#define signbit(x) __builtin_signbit(x)

float expf(float x);
float logf(float x);
float powf(float x, float y);
float sinf(float x);
float cosf(float x);
void sincosf(float x, float* sin_out, float* cos_out);
float sqrtf(float x);
float fabsf(float x);
float floorf(float x);
float roundf(float x);
double sqrt(double x);
double fabs(double x);
double floor(double x);

#ifdef __cplusplus
}
#endif
