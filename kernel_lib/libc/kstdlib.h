// BareFlow's stdlib.h functions as plain C++ in namespace kl (strtol.cpp, strtod.cpp,
// qsort.cpp). The kernel's C symbols forward to these (stdlib.kernel.cpp).
//
// No errno: the conversions report overflow only by clamping, as C specifies the value
// (LONG_MAX, HUGE_VAL, ...), and report "no number here" by setting *end to the input.
#pragma once

#include <stddef.h>

namespace kl {

// Integers: optional space and sign, then digits in `base` (2..36; 0 means C's rule:
// 0x.. hex, 0.. octal, else decimal). Out-of-range values clamp to the type's limits; for
// the unsigned ones a leading '-' negates modulo 2^64, as in C.
long strtol(const char* s, char** end, int base);
unsigned long strtoul(const char* s, char** end, int base);
long long strtoll(const char* s, char** end, int base);
unsigned long long strtoull(const char* s, char** end, int base);
int atoi(const char* s);
long atol(const char* s);

// Decimal floating point, correctly rounded (round half to even) for any number of
// digits (up to 800 are used exactly; more only break ties) and any exponent; also "inf",
// "infinity", "nan" and "nan(...)" (the payload is ignored: always the default quiet nan).
// Overflow gives +-inf, underflow +-0 or a subnormal. Not supported: hexadecimal floats
// ("0x1p3" reads as 0, ending at the 'x'). Uses about 1.3 KiB of stack.
double strtod(const char* s, char** end);
float strtof(const char* s, char** end);
double atof(const char* s);

int abs(int v);
long labs(long v);
long long llabs(long long v);

using CompareFunction = int (*)(const void* a, const void* b);

// Stable: elements that compare equal keep their order. A merge sort through a temporary
// buffer of n * size bytes (malloc); when that cannot be allocated it falls back to an
// in-place insertion sort (still stable, but O(n^2)).
void qsort(void* base, size_t count, size_t size, CompareFunction compare);
void* bsearch(const void* key, const void* base, size_t count, size_t size, CompareFunction compare);

namespace detail {
// qsort's fallback when no buffer can be allocated: stable insertion sort by adjacent
// swaps, O(n^2), no memory. Exposed for the tests.
void stable_sort_in_place(void* base, size_t count, size_t size, CompareFunction compare);
}

}
