// Exact fp16 and bf16 conversions (see blocks.h), done on the bits so that the result
// does not depend on the compiler, the ISA or the rounding of any float operation.
#include "microjit/blocks.h"

#include <string.h>

namespace mjit {

namespace {

u32 bits_of(float f)
{
    u32 u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

float float_of(u32 u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

// value >> shift (shift 1..31), rounded to nearest with ties to even.
u32 shift_round_even(u32 value, u32 shift)
{
    const u32 kept = value >> shift;
    const u32 rest = value & ((1u << shift) - 1);
    const u32 half = 1u << (shift - 1);
    return kept + (rest > half || (rest == half && (kept & 1)) ? 1 : 0);
}

}

float fp16_to_f32(u16 h)
{
    const u32 sign = static_cast<u32>(h & 0x8000) << 16;
    const u32 exponent = (h >> 10) & 0x1f;
    const u32 mantissa = h & 0x3ff;
    if (exponent == 0) {
        // Zero or subnormal: mantissa * 2^-24, exact in fp32.
        const float magnitude = static_cast<float>(mantissa) * float_of(0x33800000u);
        return float_of(sign | bits_of(magnitude));
    }
    if (exponent == 31) {
        // Infinity, or a NaN with its payload kept and the quiet bit set (as any float
        // operation on a signalling NaN would set it).
        return float_of(sign | 0x7f800000u | (mantissa << 13) | (mantissa ? 0x400000u : 0));
    }
    return float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

u16 f32_to_fp16(float f)
{
    const u32 bits = bits_of(f);
    const u32 sign = (bits >> 16) & 0x8000;
    const u32 magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u)
        return static_cast<u16>(sign | 0x7e00);  // NaN
    if (magnitude >= 0x477ff000u)
        return static_cast<u16>(sign | 0x7c00);  // 65520 and up round to infinity
    if (magnitude >= 0x38800000u) {
        // Normal half: rebias the exponent (127 -> 15) and round the mantissa from 23 to 10
        // bits; a carry out of the mantissa correctly bumps the exponent.
        return static_cast<u16>(sign | shift_round_even(magnitude - (112u << 23), 13));
    }
    if (magnitude <= 0x33000000u)
        return static_cast<u16>(sign);  // up to 2^-25 (a tie with 0) rounds to zero
    // Subnormal half: the value in units of 2^-24 is the full mantissa shifted right.
    const u32 exponent = magnitude >> 23;
    const u32 mantissa = (magnitude & 0x7fffff) | 0x800000;
    return static_cast<u16>(sign | shift_round_even(mantissa, 126 - exponent));
}

float bf16_to_f32(u16 h)
{
    return float_of(static_cast<u32>(h) << 16);
}

u16 f32_to_bf16(float f)
{
    const u32 bits = bits_of(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return static_cast<u16>((bits >> 16) | 0x40);  // NaN stays NaN, quiet
    return static_cast<u16>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

}
