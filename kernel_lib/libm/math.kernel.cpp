// The kernel's C math.h symbols: forwarders to kernel_lib/libm (code that calls expf
// directly, or that the compiler lowers to a libm call, gets the same results as kl::).
#include <math.h>

#include "kernel_lib/libm/math.h"

extern "C" {

float expf(float x) { return kl::expf(x); }
float logf(float x) { return kl::logf(x); }
float powf(float x, float y) { return kl::powf(x, y); }
float sinf(float x) { return kl::sinf(x); }
float cosf(float x) { return kl::cosf(x); }
void sincosf(float x, float* sin_out, float* cos_out) { kl::sincosf(x, sin_out, cos_out); }
float sqrtf(float x) { return kl::sqrtf(x); }
float fabsf(float x) { return kl::fabsf(x); }
float floorf(float x) { return kl::floorf(x); }
float roundf(float x) { return kl::roundf(x); }
double sqrt(double x) { return kl::sqrt(x); }
double fabs(double x) { return kl::fabs(x); }
double floor(double x) { return kl::floor(x); }

}
