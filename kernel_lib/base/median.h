// The median of a handful of measurements (timed runs, a tuning contest's calls): sorted
// in place by insertion, which suits the few values it is used on.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

// The middle value, or the mean of the two middle ones of an even count; 0 for none.
template<typename T>
T median_in_place(T* values, u32 count)
{
    for (u32 i = 1; i < count; ++i)
        for (u32 j = i; j > 0 && values[j] < values[j - 1]; --j) {
            const T swap = values[j];
            values[j] = values[j - 1];
            values[j - 1] = swap;
        }
    if (count == 0)
        return T {};
    return count % 2 ? values[count / 2] : static_cast<T>((values[count / 2 - 1] + values[count / 2]) / 2);
}

}
