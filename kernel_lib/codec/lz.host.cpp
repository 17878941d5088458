// The LZ encoder (lz.h): an optimal parse in bits, then the stream lz_decode.asm reads.
#include "kernel_lib/codec/lz.h"

#include <vector>

namespace kl {

namespace {

constexpr u32 min_match = 2;
constexpr u32 literal_bits = 9;  // the flag and the byte

u32 gamma_bits(usize value)  // value >= 1
{
    u32 bits = 1;
    while (value > 1) {
        value >>= 1;
        bits += 2;
    }
    return bits;
}

u32 match_bits(usize offset, usize length)
{
    return 1 + gamma_bits((offset - 1) / 256 + 1) + 8 + gamma_bits(length - 1);
}

// The cheapest item at each position, chosen from the end: what it costs to code the rest
// of the input from there, and the match taken there (length 0: a literal).
struct Parse {
    std::vector<u64> cost;
    std::vector<usize> offset;
    std::vector<usize> length;
};

Parse parse(const u8* in, usize size)
{
    Parse p { std::vector<u64>(size + 1, 0), std::vector<usize>(size, 0), std::vector<usize>(size, 0) };
    for (usize i = size; i-- > 0;) {
        p.cost[i] = p.cost[i + 1] + literal_bits;
        for (usize from = 0; from < i; ++from) {
            usize longest = 0;
            while (i + longest < size && in[from + longest] == in[i + longest])
                ++longest;
            for (usize length = min_match; length <= longest; ++length) {
                u64 cost = p.cost[i + length] + match_bits(i - from, length);
                if (cost < p.cost[i]) {
                    p.cost[i] = cost;
                    p.offset[i] = i - from;
                    p.length[i] = length;
                }
            }
        }
    }
    return p;
}

// Bits go into a byte reserved in the stream when the first of its eight is written, as
// the decoder loads it when it needs that bit; whole bytes go to the end as they come.
class Writer {
public:
    explicit Writer(u8* out) : m_out(out) {}
    void bit(u32 value)
    {
        if (m_mask == 0) {
            m_bits = m_size++;
            m_out[m_bits] = 0;
            m_mask = 0x80;
        }
        if (value)
            m_out[m_bits] |= m_mask;
        m_mask >>= 1;
    }
    void byte(u8 value) { m_out[m_size++] = value; }
    // Interleaved Elias gamma: the bits below the leading 1, each after a 1, then a 0.
    void gamma(usize value)
    {
        u32 top = 0;
        while (value >> (top + 1))
            ++top;
        for (u32 k = top; k-- > 0;) {
            bit(1);
            bit(static_cast<u32>(value >> k & 1));
        }
        bit(0);
    }
    usize size() const { return m_size; }

private:
    u8* m_out;
    usize m_size = 0;
    usize m_bits = 0;
    u32 m_mask = 0;
};

}

usize lz_encoded_capacity(usize size)
{
    return 2 * size + 16;
}

usize lz_encode(const u8* in, usize size, u8* out)
{
    const Parse p = parse(in, size);
    Writer w(out);
    for (usize i = 0; i < size;) {
        if (p.length[i] == 0) {
            w.bit(0);
            w.byte(in[i++]);
            continue;
        }
        w.bit(1);
        w.gamma((p.offset[i] - 1) / 256 + 1);
        w.byte(static_cast<u8>((p.offset[i] - 1) % 256));
        w.gamma(p.length[i] - 1);
        i += p.length[i];
    }
    return w.size();
}

}
