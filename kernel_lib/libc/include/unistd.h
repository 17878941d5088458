// unistd.h for the freestanding kernel build: sysconf for asmjit's page size and CPU count
// (kernel_lib/libc/posix.kernel.cpp).
#pragma once

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _SC_PAGESIZE 30
#define _SC_PAGE_SIZE _SC_PAGESIZE
#define _SC_NPROCESSORS_ONLN 84

long sysconf(int name);

#ifdef __cplusplus
}
#endif
