// The string.h subset: memory and C-string primitives (kernel_lib/libc/kstring.h).
//
// memcpy and memset are `rep movsb` / `rep stosb` (kernel_lib/arch/x86_64/string_ops.h):
// fast on large sizes (ERMSB), a few bytes of code, and, being asm, immune to the compiler
// recognising a copy loop as memcpy and calling us back. The rest are simple loops (the
// strings here are short: names, settings, formats).
#include "kernel_lib/libc/kstring.h"

#include "kernel_lib/arch/x86_64/string_ops.h"
#include "kernel_lib/base/types.h"

namespace kl {

// Built for size (like -Oz): kernel_lib has a small code budget, and it stops the
// vectoriser from turning each byte loop into a few hundred bytes of SSE code.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

namespace {

inline u64 load64(const u8* p)
{
    u64 v;
    __builtin_memcpy(&v, p, 8);  // one unaligned mov, never a call
    return v;
}

inline void store64(u8* p, u64 v) { __builtin_memcpy(p, &v, 8); }

}

void* memcpy(void* dst, const void* src, size_t n)
{
    x86::rep_movsb(dst, src, n);
    return dst;
}

void* memmove(void* dst, const void* src, size_t n)
{
    u8* d = static_cast<u8*>(dst);
    const u8* s = static_cast<const u8*>(src);
    // A forward copy is safe unless dst starts inside [src, src + n).
    if (d <= s || d >= s + n)
        return kl::memcpy(dst, src, n);
    // Overlap with dst above src: copy backwards, 8 bytes at a time, then the head.
    size_t i = n;
    for (; i >= 8; i -= 8)
        store64(d + i - 8, load64(s + i - 8));
    while (i > 0) {
        --i;
        d[i] = s[i];
    }
    return dst;
}

void* memset(void* dst, int value, size_t n)
{
    x86::rep_stosb(dst, static_cast<u8>(value), n);
    return dst;
}

int memcmp(const void* a, const void* b, size_t n)
{
    const u8* x = static_cast<const u8*>(a);
    const u8* y = static_cast<const u8*>(b);
    size_t i = 0;
    // Skip equal 8-byte words quickly; the first differing word is resolved bytewise.
    while (i + 8 <= n && load64(x + i) == load64(y + i))
        i += 8;
    for (; i < n; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

void* memchr(const void* s, int c, size_t n)
{
    const u8* p = static_cast<const u8*>(s);
    for (size_t i = 0; i < n; ++i) {
        if (p[i] == static_cast<u8>(c))
            return const_cast<u8*>(p + i);
    }
    return nullptr;
}

size_t strlen(const char* s)
{
    size_t n = 0;
    while (s[n])
        ++n;
    return n;
}

size_t strnlen(const char* s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        ++n;
    return n;
}

int strcmp(const char* a, const char* b)
{
    // C compares as unsigned char.
    const u8* x = reinterpret_cast<const u8*>(a);
    const u8* y = reinterpret_cast<const u8*>(b);
    while (*x && *x == *y) {
        ++x;
        ++y;
    }
    return (*x > *y) - (*x < *y);
}

int strncmp(const char* a, const char* b, size_t n)
{
    const u8* x = reinterpret_cast<const u8*>(a);
    const u8* y = reinterpret_cast<const u8*>(b);
    for (size_t i = 0; i < n; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
        if (!x[i])
            return 0;
    }
    return 0;
}

char* strchr(const char* s, int c)
{
    // The terminator counts as part of the string: strchr(s, 0) points at it.
    for (;; ++s) {
        if (*s == static_cast<char>(c))
            return const_cast<char*>(s);
        if (!*s)
            return nullptr;
    }
}

char* strrchr(const char* s, int c)
{
    const char* last = nullptr;
    for (;; ++s) {
        if (*s == static_cast<char>(c))
            last = s;
        if (!*s)
            return const_cast<char*>(last);
    }
}

char* strstr(const char* haystack, const char* needle)
{
    // Naive search: the inputs here are short (command lines, CPU names, test strings).
    size_t n = kl::strlen(needle);
    for (; *haystack; ++haystack) {
        if (kl::strncmp(haystack, needle, n) == 0)
            return const_cast<char*>(haystack);
    }
    return n == 0 ? const_cast<char*>(haystack) : nullptr;
}

char* strcpy(char* dst, const char* src)
{
    kl::memcpy(dst, src, kl::strlen(src) + 1);
    return dst;
}

char* strncpy(char* dst, const char* src, size_t n)
{
    // C semantics: copy at most n bytes, zero-fill the rest; no terminator if src is long.
    size_t len = kl::strnlen(src, n);
    kl::memcpy(dst, src, len);
    kl::memset(dst + len, 0, n - len);
    return dst;
}

char* strcat(char* dst, const char* src)
{
    kl::strcpy(dst + kl::strlen(dst), src);
    return dst;
}

#pragma clang attribute pop

}
