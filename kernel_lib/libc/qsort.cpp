// qsort (stable) and bsearch (kernel_lib/libc/kstdlib.h).
//
// qsort is a bottom-up merge sort: runs of 8 elements are insertion-sorted in place, then
// merged pairwise back and forth between the array and a temporary buffer of the same
// size. Taking from the left run on ties keeps it stable: equal keys keep their input
// order, as with glibc's qsort (also a merge sort when it has the memory), so a top-p
// sampler sorting equal probabilities picks the same tokens on both.
// Without memory for the buffer it falls back to the insertion sort over the whole array:
// stable too, but O(n^2).
#include <stdlib.h>

#include "kernel_lib/base/types.h"
#include "kernel_lib/libc/kstdlib.h"
#include "kernel_lib/libc/kstring.h"

namespace kl {

// Built for size (like -Oz), not speed: kernel_lib has a small code budget, and none of
// this is on a hot path. It also stops the vectoriser from bloating the byte loops.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

namespace {

constexpr size_t run_length = 8;

void swap_bytes(u8* a, u8* b, size_t size)
{
    for (size_t i = 0; i < size; ++i) {
        u8 t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

// Stable in-place insertion sort by adjacent swaps (needs no element-sized temporary).
void insertion_sort(u8* base, size_t count, size_t size, CompareFunction compare)
{
    for (size_t i = 1; i < count; ++i) {
        for (size_t j = i; j > 0 && compare(base + (j - 1) * size, base + j * size) > 0; --j)
            swap_bytes(base + (j - 1) * size, base + j * size, size);
    }
}

// Merges the sorted runs [left, left + n1) and [right, right + n2) (elements) into out.
void merge(const u8* left, size_t n1, const u8* right, size_t n2, u8* out, size_t size, CompareFunction compare)
{
    while (n1 > 0 && n2 > 0) {
        // `<= 0` takes the left element on ties: that is what makes the sort stable.
        if (compare(left, right) <= 0) {
            kl::memcpy(out, left, size);
            left += size;
            --n1;
        } else {
            kl::memcpy(out, right, size);
            right += size;
            --n2;
        }
        out += size;
    }
    kl::memcpy(out, left, n1 * size);
    kl::memcpy(out + n1 * size, right, n2 * size);
}

}

void qsort(void* base, size_t count, size_t size, CompareFunction compare)
{
    u8* data = static_cast<u8*>(base);
    if (count < 2 || size == 0)
        return;
    size_t bytes = 0;
    bool fits = !__builtin_mul_overflow(count, size, &bytes);
    u8* buffer = (count > run_length && fits) ? static_cast<u8*>(malloc(bytes)) : nullptr;
    if (buffer == nullptr) {
        insertion_sort(data, count, size, compare);
        return;
    }
    for (size_t start = 0; start < count; start += run_length) {
        size_t n = count - start < run_length ? count - start : run_length;
        insertion_sort(data + start * size, n, size, compare);
    }
    u8* from = data;
    u8* to = buffer;
    for (size_t width = run_length; width < count; width *= 2) {
        for (size_t start = 0; start < count; start += 2 * width) {
            size_t n1 = count - start < width ? count - start : width;
            size_t rest = count - start - n1;
            size_t n2 = rest < width ? rest : width;
            merge(from + start * size, n1, from + (start + n1) * size, n2, to + start * size, size, compare);
        }
        u8* t = from;
        from = to;
        to = t;
    }
    if (from != data)
        kl::memcpy(data, from, bytes);
    free(buffer);
}

void detail::stable_sort_in_place(void* base, size_t count, size_t size, CompareFunction compare)
{
    insertion_sort(static_cast<u8*>(base), count, size, compare);
}

void* bsearch(const void* key, const void* base, size_t count, size_t size, CompareFunction compare)
{
    const u8* data = static_cast<const u8*>(base);
    size_t lo = 0;
    size_t hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare(key, data + mid * size);
        if (c == 0)
            return const_cast<u8*>(data + mid * size);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return nullptr;
}

#pragma clang attribute pop

}
