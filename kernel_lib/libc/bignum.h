// A small fixed-capacity unsigned big integer for exact decimal <-> binary conversion.
//
// Used by the float formatter (the exact decimal digits of a double: m * 2^e or m * 5^k)
// and by strtod / strtof (comparing a decimal input with a binary midpoint). Capacity covers
// the largest case either needs (about 2,600 bits); exceeding it is a bug and VERIFY()s.
// Limbs are 32 bits so every step fits a 64-bit product; no 128-bit division is needed
// (the freestanding kernel has no compiler runtime for it).
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::detail {

class BigNum {
public:
    static constexpr int capacity = 100;  // limbs: 3,200 bits

    explicit BigNum(u64 value = 0) { set(value); }

    void set(u64 value);
    bool is_zero() const { return m_size == 0; }

    void multiply(u32 factor);
    void add(u32 value);
    void multiply_pow5(int exponent);
    void shift_left(int bits);
    // Divides by 10^9 in place and returns the remainder (the next 9 low decimal digits).
    u32 divide_1e9();

    friend int compare(const BigNum& a, const BigNum& b);

private:
    void push(u32 limb);

    u32 m_limbs[capacity];
    int m_size { 0 };  // limbs in use; the top one is non-zero
};

}
