// Raw DEFLATE decoding (RFC 1951), for the kernel image's unpacker (see inflate.h).
//
// Canonical Huffman codes are decoded one bit at a time against per-length code counts:
// a few dozen instructions per symbol, which is plenty for a few hundred KiB once per
// boot, and keeps the code small. Every read is bounds-checked; malformed input returns a
// negative status instead of writing outside `out`.
#include "kernel_lib/util/inflate.h"

namespace kl {

namespace {

struct Huffman {
    u16 counts[16];    // codes of each bit length
    u16 symbols[320];  // symbols ordered by code
};

struct Stream {
    const u8* in;
    usize in_size;
    usize in_pos;
    u32 bits;
    u32 bit_count;
    u8* out;
    usize out_capacity;
    usize out_pos;
    bool failed;
};

u32 take_bits(Stream& s, u32 count)
{
    while (s.bit_count < count) {
        if (s.in_pos >= s.in_size) {
            s.failed = true;
            return 0;
        }
        s.bits |= static_cast<u32>(s.in[s.in_pos++]) << s.bit_count;
        s.bit_count += 8;
    }
    u32 value = s.bits & ((1u << count) - 1);
    s.bits >>= count;
    s.bit_count -= count;
    return value;
}

// Builds the decoding table from code lengths; false when the lengths over-subscribe.
bool build(Huffman& h, const u8* lengths, u32 count)
{
    for (u16& c : h.counts)
        c = 0;
    for (u32 i = 0; i < count; ++i)
        ++h.counts[lengths[i]];
    h.counts[0] = 0;
    i32 left = 1;
    for (int len = 1; len < 16; ++len) {
        left = left * 2 - h.counts[len];
        if (left < 0)
            return false;
    }
    u16 offsets[16];
    offsets[1] = 0;
    for (int len = 1; len < 15; ++len)
        offsets[len + 1] = static_cast<u16>(offsets[len] + h.counts[len]);
    for (u32 i = 0; i < count; ++i)
        if (lengths[i])
            h.symbols[offsets[lengths[i]]++] = static_cast<u16>(i);
    return true;
}

// One symbol: walks the code bit by bit (codes are stored most significant bit first).
i32 decode(Stream& s, const Huffman& h)
{
    i32 code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; ++len) {
        code |= static_cast<i32>(take_bits(s, 1));
        if (s.failed)
            return -1;
        i32 count = h.counts[len];
        if (code - first < count)
            return h.symbols[index + code - first];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

constexpr u16 length_base[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
    115, 131, 163, 195, 227, 258 };
constexpr u8 length_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
constexpr u16 distance_base[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
    1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
constexpr u8 distance_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12,
    12, 13, 13 };
constexpr u8 code_length_order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };

i64 codes(Stream& s, const Huffman& literals, const Huffman& distances)
{
    for (;;) {
        i32 symbol = decode(s, literals);
        if (symbol < 0)
            return inflate_bad_code;
        if (symbol < 256) {
            if (s.out_pos >= s.out_capacity)
                return inflate_output_full;
            s.out[s.out_pos++] = static_cast<u8>(symbol);
            continue;
        }
        if (symbol == 256)
            return 0;
        symbol -= 257;
        if (symbol >= 29)
            return inflate_bad_code;
        u32 length = length_base[symbol] + take_bits(s, length_extra[symbol]);
        i32 d = decode(s, distances);
        if (d < 0 || d >= 30)
            return inflate_bad_code;
        u32 distance = distance_base[d] + take_bits(s, distance_extra[d]);
        if (s.failed)
            return inflate_truncated;
        if (distance > s.out_pos)
            return inflate_bad_distance;
        if (length > s.out_capacity - s.out_pos)
            return inflate_output_full;
        for (u32 i = 0; i < length; ++i, ++s.out_pos)
            s.out[s.out_pos] = s.out[s.out_pos - distance];
    }
}

i64 stored(Stream& s)
{
    s.bits = 0;
    s.bit_count = 0;  // to the byte boundary
    if (s.in_size - s.in_pos < 4)
        return inflate_truncated;
    u32 length = s.in[s.in_pos] | (s.in[s.in_pos + 1] << 8);
    u32 complement = s.in[s.in_pos + 2] | (s.in[s.in_pos + 3] << 8);
    s.in_pos += 4;
    if ((length ^ 0xFFFF) != complement)
        return inflate_bad_code;
    if (length > s.in_size - s.in_pos)
        return inflate_truncated;
    if (length > s.out_capacity - s.out_pos)
        return inflate_output_full;
    for (u32 i = 0; i < length; ++i)
        s.out[s.out_pos++] = s.in[s.in_pos++];
    return 0;
}

i64 fixed(Stream& s, Huffman& literals, Huffman& distances)
{
    u8 lengths[288];
    for (u32 i = 0; i < 288; ++i)
        lengths[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    build(literals, lengths, 288);
    for (u32 i = 0; i < 30; ++i)
        lengths[i] = 5;
    build(distances, lengths, 30);
    return codes(s, literals, distances);
}

i64 dynamic(Stream& s, Huffman& literals, Huffman& distances)
{
    u32 literal_count = take_bits(s, 5) + 257;
    u32 distance_count = take_bits(s, 5) + 1;
    u32 code_count = take_bits(s, 4) + 4;
    if (s.failed)
        return inflate_truncated;
    if (literal_count > 286 || distance_count > 30)
        return inflate_bad_code;
    u8 lengths[320] = {};
    for (u32 i = 0; i < code_count; ++i)
        lengths[code_length_order[i]] = static_cast<u8>(take_bits(s, 3));
    Huffman code_lengths;
    if (s.failed || !build(code_lengths, lengths, 19))
        return inflate_bad_code;
    u32 total = literal_count + distance_count;
    for (u32 i = 0; i < total;) {
        i32 symbol = decode(s, code_lengths);
        if (symbol < 0)
            return inflate_bad_code;
        if (symbol < 16) {
            lengths[i++] = static_cast<u8>(symbol);
            continue;
        }
        u32 repeat;
        u8 value = 0;
        if (symbol == 16) {
            if (i == 0)
                return inflate_bad_code;
            value = lengths[i - 1];
            repeat = 3 + take_bits(s, 2);
        } else if (symbol == 17) {
            repeat = 3 + take_bits(s, 3);
        } else {
            repeat = 11 + take_bits(s, 7);
        }
        if (s.failed || i + repeat > total)
            return inflate_bad_code;
        while (repeat--)
            lengths[i++] = value;
    }
    if (lengths[256] == 0)
        return inflate_bad_code;  // no end-of-block code
    if (!build(literals, lengths, literal_count) || !build(distances, lengths + literal_count, distance_count))
        return inflate_bad_code;
    return codes(s, literals, distances);
}

}

i64 inflate_raw(const u8* in, usize in_size, u8* out, usize out_capacity)
{
    Stream s { in, in_size, 0, 0, 0, out, out_capacity, 0, false };
    Huffman literals, distances;
    for (;;) {
        u32 last = take_bits(s, 1);
        u32 type = take_bits(s, 2);
        if (s.failed)
            return inflate_truncated;
        i64 status = type == 0 ? stored(s) : type == 1 ? fixed(s, literals, distances)
            : type == 2                           ? dynamic(s, literals, distances)
                                                  : inflate_bad_code;
        if (status < 0)
            return status;
        if (last)
            return static_cast<i64>(s.out_pos);
    }
}

}
