// Helpers shared by the fuzz target bodies (tests/fuzz/targets/*.cpp): reading fields out of
// the input, finding the shared model files. Not used outside the fuzz targets.
#pragma once

#include <stddef.h>
#include <string.h>

#include <string>
#include <vector>

#include "kernel_lib/base/types.h"

namespace fuzz_support {

// Reads a little-endian value at `offset`, taking missing bytes as zero.
template<typename T>
T read_or_zero(const u8* data, size_t size, size_t offset)
{
    u8 bytes[sizeof(T)] = {};
    for (size_t i = 0; i < sizeof(T); ++i) {
        if (offset + i < size)
            bytes[i] = data[offset + i];
    }
    T value;
    memcpy(&value, bytes, sizeof(T));
    return value;
}

inline u8 byte_or_zero(const u8* data, size_t size, size_t offset) { return offset < size ? data[offset] : 0; }

// Whether [p, p + bytes) lies inside [begin, begin + size).
inline bool inside(const void* p, u64 bytes, const void* begin, u64 size)
{
    const uptr a = reinterpret_cast<uptr>(p), b = reinterpret_cast<uptr>(begin);
    return a >= b && a - b <= size && bytes <= size - (a - b);
}

// A shared model file's path (./models, $BAREFLOW_MODEL_PATH, ../shared/models next to the
// repository), or "" when it is nowhere.
std::string find_model_file(const char* name);

// The file's bytes; false when it cannot be read.
bool read_whole_file(const std::string& path, std::vector<u8>& out);

}
