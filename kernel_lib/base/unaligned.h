// Little-endian fields read from byte buffers at any alignment: file headers, the payload
// directory, firmware tables. Read through memcpy, never through a cast pointer (which
// would be undefined behaviour); the compiler makes each one a single load on x86.
#pragma once

#include <string.h>

#include "kernel_lib/base/types.h"

namespace kl {

template<typename T>
inline T read_unaligned(const u8* p)
{
    T v;
    memcpy(&v, p, sizeof(v));
    return v;
}

inline i32 read_i32(const u8* p) { return read_unaligned<i32>(p); }
inline u32 read_u32(const u8* p) { return read_unaligned<u32>(p); }
inline u64 read_u64(const u8* p) { return read_unaligned<u64>(p); }

}
