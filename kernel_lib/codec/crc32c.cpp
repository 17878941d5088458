// CRC-32C: slice-by-8 tables built on first use, and the SSE4.2 instruction (see crc32c.h).
#include "kernel_lib/codec/crc32c.h"

#include <nmmintrin.h>
#include <string.h>

#include "kernel_lib/cpu/features.h"

namespace kl {

namespace {

constexpr u32 polynomial = 0x82F63B78;  // reflected Castagnoli

u32 g_table[8][256];
bool g_table_ready = false;

void build_table()
{
    for (u32 i = 0; i < 256; ++i) {
        u32 c = i;
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ ((c & 1) ? polynomial : 0);
        g_table[0][i] = c;
    }
    for (u32 i = 0; i < 256; ++i) {
        for (int t = 1; t < 8; ++t)
            g_table[t][i] = (g_table[t - 1][i] >> 8) ^ g_table[0][g_table[t - 1][i] & 0xFF];
    }
    g_table_ready = true;
}

}

u32 crc32c_portable(const void* data, usize length, u32 crc)
{
    if (!g_table_ready)
        build_table();
    auto p = static_cast<const u8*>(data);
    crc = ~crc;
    while (length >= 8) {
        u64 word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = g_table[7][word & 0xFF] ^ g_table[6][(word >> 8) & 0xFF] ^ g_table[5][(word >> 16) & 0xFF]
            ^ g_table[4][(word >> 24) & 0xFF] ^ g_table[3][(word >> 32) & 0xFF] ^ g_table[2][(word >> 40) & 0xFF]
            ^ g_table[1][(word >> 48) & 0xFF] ^ g_table[0][word >> 56];
        p += 8;
        length -= 8;
    }
    while (length--)
        crc = (crc >> 8) ^ g_table[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

__attribute__((target("sse4.2"))) u32 crc32c_sse42(const void* data, usize length, u32 crc)
{
    auto p = static_cast<const u8*>(data);
    u64 c = ~crc;
    while (length >= 8) {
        u64 word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        length -= 8;
    }
    u32 c32 = static_cast<u32>(c);
    while (length--)
        c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

u32 crc32c(const void* data, usize length, u32 crc)
{
    return cpu::features().sse42 ? crc32c_sse42(data, length, crc) : crc32c_portable(data, length, crc);
}

}
