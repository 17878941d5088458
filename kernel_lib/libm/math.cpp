// TEMPORARY (replaced by the libm implementation): forwards to the compiler's builtins,
// which resolve to glibc on the host. Not valid in the kernel build.
#include "kernel_lib/libm/math.h"

namespace kl {

float expf(float x) { return __builtin_expf(x); }
float logf(float x) { return __builtin_logf(x); }
float powf(float x, float y) { return __builtin_powf(x, y); }
float sinf(float x) { return __builtin_sinf(x); }
float cosf(float x) { return __builtin_cosf(x); }
void sincosf(float x, float* s, float* c) { *s = __builtin_sinf(x); *c = __builtin_cosf(x); }
float sqrtf(float x) { return __builtin_sqrtf(x); }
float fabsf(float x) { return __builtin_fabsf(x); }
float floorf(float x) { return __builtin_floorf(x); }
float roundf(float x) { return __builtin_roundf(x); }
double sqrt(double x) { return __builtin_sqrt(x); }
double fabs(double x) { return __builtin_fabs(x); }
double floor(double x) { return __builtin_floor(x); }

}
