// BareFlow's string.h functions as plain C++ in namespace kl (kernel_lib/libc/string.cpp).
//
// The kernel's C symbols (memcpy, strlen, ...) forward to these (string.kernel.cpp); on the
// host they are ordinary functions that the tests compare with glibc's.
#pragma once

#include <stddef.h>

namespace kl {

// The parentheses keep the kernel <string.h>'s builtin-routing macros (memcpy(...) ->
// __builtin_memcpy(...)) out of these declarations, whatever the include order.
void*(memcpy)(void* dst, const void* src, size_t n);
void*(memmove)(void* dst, const void* src, size_t n);
void*(memset)(void* dst, int value, size_t n);
int(memcmp)(const void* a, const void* b, size_t n);
void* memchr(const void* s, int c, size_t n);

size_t(strlen)(const char* s);
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
char* strchr(const char* s, int c);
char* strrchr(const char* s, int c);
char* strstr(const char* haystack, const char* needle);
char* strcpy(char* dst, const char* src);
char* strncpy(char* dst, const char* src, size_t n);
char* strcat(char* dst, const char* src);

}
