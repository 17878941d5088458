// stdlib.h for the freestanding kernel build.
//
// Conversions, qsort and bsearch are kernel_lib/libc (kstdlib.h says exactly how they
// behave: no errno, stable qsort). The heap (malloc ...) and abort are implemented by the
// kernel's memory and panic code, not here.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

long strtol(const char* s, char** end, int base);
unsigned long strtoul(const char* s, char** end, int base);
long long strtoll(const char* s, char** end, int base);
unsigned long long strtoull(const char* s, char** end, int base);
double strtod(const char* s, char** end);
float strtof(const char* s, char** end);
int atoi(const char* s);
long atol(const char* s);
double atof(const char* s);

int abs(int v);
long labs(long v);
long long llabs(long long v);

void qsort(void* base, size_t count, size_t size, int (*compare)(const void*, const void*));
void* bsearch(const void* key, const void* base, size_t count, size_t size,
    int (*compare)(const void*, const void*));

void* malloc(size_t size);
void* calloc(size_t count, size_t size);
void* realloc(void* pointer, size_t size);
void* aligned_alloc(size_t alignment, size_t size);
void free(void* pointer);

__attribute__((noreturn)) void abort(void);

#ifdef __cplusplus
}

// C++'s <cstdlib> overloads, so that abs(long) does not truncate through int.
inline long abs(long v) { return v < 0 ? -v : v; }
inline long long abs(long long v) { return v < 0 ? -v : v; }
#endif
