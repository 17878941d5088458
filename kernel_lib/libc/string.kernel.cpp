// The kernel's C string.h symbols: forwarders to kernel_lib/libc/string.cpp. The compiler
// also emits calls to memcpy / memset / memmove for struct copies and big initialisers;
// these are the definitions it links against.
// Define the functions themselves, not the builtin-routing macros of our string.h.
#define BAREFLOW_LIBC_NO_BUILTIN_MACROS
#include <string.h>

#include "kernel_lib/libc/kstring.h"

extern "C" {

void* memcpy(void* dst, const void* src, size_t n) { return kl::memcpy(dst, src, n); }
void* memmove(void* dst, const void* src, size_t n) { return kl::memmove(dst, src, n); }
void* memset(void* dst, int value, size_t n) { return kl::memset(dst, value, n); }
int memcmp(const void* a, const void* b, size_t n) { return kl::memcmp(a, b, n); }
void* memchr(const void* s, int c, size_t n) { return kl::memchr(s, c, n); }

size_t strlen(const char* s) { return kl::strlen(s); }
size_t strnlen(const char* s, size_t max) { return kl::strnlen(s, max); }
int strcmp(const char* a, const char* b) { return kl::strcmp(a, b); }
int strncmp(const char* a, const char* b, size_t n) { return kl::strncmp(a, b, n); }
char* strchr(const char* s, int c) { return kl::strchr(s, c); }
char* strrchr(const char* s, int c) { return kl::strrchr(s, c); }
char* strstr(const char* haystack, const char* needle) { return kl::strstr(haystack, needle); }
char* strcpy(char* dst, const char* src) { return kl::strcpy(dst, src); }
char* strncpy(char* dst, const char* src, size_t n) { return kl::strncpy(dst, src, n); }
char* strcat(char* dst, const char* src) { return kl::strcat(dst, src); }

}
