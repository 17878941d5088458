// A typed, stable O(n log n) sort into caller-provided scratch memory.
//
// libc's qsort is neither typed nor stable, and its tie order differs between libcs; the
// sampler (top-p) and the tokenizer (sorted vocabulary) need one order that the host and
// the kernel both produce. Bottom-up merge sort: no recursion, no allocation.
#pragma once

#include <string.h>

#include "kernel_lib/base/types.h"

namespace tllama {

// Sorts items[0..n) so that less(a, b) holds for no later a before an earlier b; equal
// elements keep their order. scratch must hold n elements. T must be trivially copyable.
template<typename T, typename Less>
void stable_sort(T* items, T* scratch, usize n, Less less)
{
    if (n < 2)
        return;
    T* from = items;
    T* to = scratch;
    for (usize width = 1; width < n; width *= 2) {
        for (usize lo = 0; lo < n; lo += 2 * width) {
            const usize mid = kl::min(lo + width, n);
            const usize hi = kl::min(lo + 2 * width, n);
            usize a = lo, b = mid, out = lo;
            // Take from the right run only when strictly smaller: that keeps ties stable.
            while (a < mid && b < hi)
                to[out++] = less(from[b], from[a]) ? from[b++] : from[a++];
            while (a < mid)
                to[out++] = from[a++];
            while (b < hi)
                to[out++] = from[b++];
        }
        T* swap = from;
        from = to;
        to = swap;
    }
    if (from != items)
        memcpy(items, from, n * sizeof(T));
}

}
