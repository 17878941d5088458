// Fixed-width integer names used across BareFlow (kernel and host builds alike).
//
// They live in the global namespace, as in SerenityOS, because every file uses them
// and `kl::u32` everywhere would only add noise.
#pragma once

#include <stddef.h>
#include <stdint.h>

using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using i8 = int8_t;
using i16 = int16_t;
using i32 = int32_t;
using i64 = int64_t;
using usize = size_t;
using uptr = uintptr_t;

namespace kl {

constexpr u64 KiB = 1024;
constexpr u64 MiB = 1024 * KiB;
constexpr u64 GiB = 1024 * MiB;

template<typename T>
constexpr T align_up(T value, T alignment) { return (value + alignment - 1) / alignment * alignment; }

template<typename T>
constexpr T align_down(T value, T alignment) { return value / alignment * alignment; }

template<typename T>
constexpr T min(T a, T b) { return a < b ? a : b; }

template<typename T>
constexpr T max(T a, T b) { return a > b ? a : b; }

template<typename T, usize N>
constexpr usize array_size(T (&)[N]) { return N; }

// Overflow-checked arithmetic for sizes computed from untrusted headers.
inline bool checked_mul(u64 a, u64 b, u64& out) { return !__builtin_mul_overflow(a, b, &out); }
inline bool checked_add(u64 a, u64 b, u64& out) { return !__builtin_add_overflow(a, b, &out); }

}
