// BigNum arithmetic (kernel_lib/libc/bignum.h): schoolbook operations on 32-bit limbs,
// least significant limb first.
#include "kernel_lib/libc/bignum.h"

#include "kernel_lib/base/error.h"

namespace kl::detail {

// Built for size (like -Oz), not speed: kernel_lib has a small code budget, and none of
// this is on a hot path. It also stops the vectoriser from bloating the byte loops.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

void BigNum::push(u32 limb)
{
    VERIFY(m_size < capacity);
    m_limbs[m_size++] = limb;
}

void BigNum::set(u64 value)
{
    m_size = 0;
    for (; value != 0; value >>= 32)
        push(static_cast<u32>(value));
}

void BigNum::multiply(u32 factor)
{
    u64 carry = 0;
    for (int i = 0; i < m_size; ++i) {
        u64 product = static_cast<u64>(m_limbs[i]) * factor + carry;
        m_limbs[i] = static_cast<u32>(product);
        carry = product >> 32;
    }
    if (factor == 0)
        m_size = 0;
    else if (carry != 0)
        push(static_cast<u32>(carry));
}

void BigNum::add(u32 value)
{
    u64 carry = value;
    for (int i = 0; i < m_size && carry != 0; ++i) {
        u64 sum = m_limbs[i] + carry;
        m_limbs[i] = static_cast<u32>(sum);
        carry = sum >> 32;
    }
    if (carry != 0)
        push(static_cast<u32>(carry));
}

void BigNum::multiply_pow5(int exponent)
{
    // 5^13 is the largest power of five below 2^32.
    constexpr u32 pow5_13 = 1220703125;
    for (; exponent >= 13; exponent -= 13)
        multiply(pow5_13);
    u32 rest = 1;
    while (exponent-- > 0)
        rest *= 5;
    multiply(rest);
}

void BigNum::shift_left(int bits)
{
    if (m_size == 0 || bits <= 0)
        return;
    int words = bits / 32;
    int shift = bits % 32;
    VERIFY(m_size + words + 1 <= capacity);
    // Top limb first, so that source limbs are read before they are overwritten.
    u32 spill = shift ? m_limbs[m_size - 1] >> (32 - shift) : 0;
    for (int i = m_size - 1; i >= 0; --i) {
        u32 low = (shift && i > 0) ? m_limbs[i - 1] >> (32 - shift) : 0;
        m_limbs[i + words] = (m_limbs[i] << shift) | low;
    }
    for (int i = 0; i < words; ++i)
        m_limbs[i] = 0;
    m_size += words;
    if (spill != 0)
        m_limbs[m_size++] = spill;
}

u32 BigNum::divide_1e9()
{
    u64 remainder = 0;
    for (int i = m_size - 1; i >= 0; --i) {
        u64 current = (remainder << 32) | m_limbs[i];
        m_limbs[i] = static_cast<u32>(current / 1000000000u);
        remainder = current % 1000000000u;
    }
    while (m_size > 0 && m_limbs[m_size - 1] == 0)
        --m_size;
    return static_cast<u32>(remainder);
}

int compare(const BigNum& a, const BigNum& b)
{
    if (a.m_size != b.m_size)
        return a.m_size < b.m_size ? -1 : 1;
    for (int i = a.m_size - 1; i >= 0; --i) {
        if (a.m_limbs[i] != b.m_limbs[i])
            return a.m_limbs[i] < b.m_limbs[i] ? -1 : 1;
    }
    return 0;
}

#pragma clang attribute pop

}
