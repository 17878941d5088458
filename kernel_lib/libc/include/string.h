// string.h for the freestanding kernel build (kernel_lib/libc/string.cpp implements it).
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int value, size_t n);
int memcmp(const void* a, const void* b, size_t n);
void* memchr(const void* s, int c, size_t n);

size_t strlen(const char* s);
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
char* strchr(const char* s, int c);
char* strrchr(const char* s, int c);
char* strstr(const char* haystack, const char* needle);
char* strcpy(char* dst, const char* src);
char* strncpy(char* dst, const char* src, size_t n);
char* strcat(char* dst, const char* src);

#ifdef __cplusplus
}
#endif

// -ffreestanding makes the compiler treat these as ordinary functions, so even a 4-byte
// memcpy would be a call. Routed through the builtins, small constant sizes are inlined
// and everything else still calls the functions above; &memcpy still names the function.
// kernel_lib/libc's own definitions (string.kernel.cpp) opt out.
#ifndef BAREFLOW_LIBC_NO_BUILTIN_MACROS
#define memcpy(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define memmove(dst, src, n) __builtin_memmove((dst), (src), (n))
#define memset(dst, value, n) __builtin_memset((dst), (value), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
#define strlen(s) __builtin_strlen((s))
#endif
