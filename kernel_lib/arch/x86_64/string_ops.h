// The x86-64 string instructions behind kl::memcpy / kl::memset (kernel_lib/libc/string.cpp).
//
// `rep movsb` / `rep stosb` are the fastest bulk copy and fill on CPUs with ERMSB and never
// slower than a simple loop elsewhere; being asm, they also keep the compiler from turning
// the copy loop inside our own memcpy back into a call to memcpy (infinite recursion in the
// kernel). Inline asm lives only in arch/ headers (house style), hence this file.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::x86 {

// Forward byte copy; correct for overlapping ranges when dst < src (byte order semantics).
inline void rep_movsb(void* dst, const void* src, usize count)
{
    asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(count) : : "memory");
}

inline void rep_stosb(void* dst, u8 value, usize count)
{
    asm volatile("rep stosb" : "+D"(dst), "+c"(count) : "a"(value) : "memory");
}

}
