// time.h for the freestanding kernel build: clock_gettime only (asmjit's tick count),
// from the TSC (kernel_lib/libc/posix.kernel.cpp). Every clock is the same monotonic one.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef long time_t;
typedef int clockid_t;

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

int clock_gettime(clockid_t clock, struct timespec* out);

#ifdef __cplusplus
}
#endif
