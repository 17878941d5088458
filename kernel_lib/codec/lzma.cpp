// Raw LZMA1 decoding and the x86 BCJ decode filter, for the kernel image's unpacker (see
// lzma.h).
//
// LZMA codes a byte stream as a sequence of packets -- a literal byte, a match (a length
// and a new distance), a repeat of one of the four most recent distances ("rep0".."rep3"),
// or a single byte at rep0 ("short rep") -- and every decision and every bit of every
// number goes through an adaptive binary range coder: each bit has its own probability of
// being 0, which moves towards what was seen. This file reads top to bottom in that order:
// range decoder, bit trees, lengths, distances, literals, the packet loop, then the BCJ
// filter. The output buffer doubles as the dictionary. Speed is not the aim (one kernel
// per boot) and every read and write is bounds-checked: malformed input returns a
// negative status instead of touching memory outside `in` and `out`.
#include "kernel_lib/codec/lzma.h"

namespace kl {

namespace {

// ---- Range decoder ------------------------------------------------------------------

constexpr u32 probability_bits = 11;  // probabilities of a 0 bit, in 1/2048ths
constexpr u16 probability_half = 1 << (probability_bits - 1);
constexpr u32 adaptation_shift = 5;   // each update moves 1/32 of the way to 0 or 1
constexpr u32 range_top = 1u << 24;   // below this the decoder shifts in another byte

struct RangeDecoder {
    const u8* in;
    usize in_size;
    usize in_pos;  // may run past in_size: missing bytes read as 0 and the packet loop
                   // reports truncation before it acts on what it decoded
    u32 range;
    u32 code;

    bool overrun() const { return in_pos > in_size; }
};

void normalize(RangeDecoder& rc)
{
    if (rc.range >= range_top)
        return;
    rc.range <<= 8;
    rc.code = (rc.code << 8) | (rc.in_pos < rc.in_size ? rc.in[rc.in_pos] : 0u);
    ++rc.in_pos;
}

// One bit coded with the adaptive probability `probability`, which is then updated.
u32 decode_bit(RangeDecoder& rc, u16& probability)
{
    normalize(rc);
    u32 bound = (rc.range >> probability_bits) * probability;
    if (rc.code < bound) {
        rc.range = bound;
        probability += ((1u << probability_bits) - probability) >> adaptation_shift;
        return 0;
    }
    rc.range -= bound;
    rc.code -= bound;
    probability -= probability >> adaptation_shift;
    return 1;
}

// `count` bits with a fixed probability of one half ("direct bits"), most significant first.
u32 decode_direct_bits(RangeDecoder& rc, u32 count)
{
    u32 value = 0;
    for (u32 i = 0; i < count; ++i) {
        normalize(rc);
        rc.range >>= 1;
        u32 bit = rc.code >= rc.range ? 1 : 0;
        if (bit)
            rc.code -= rc.range;
        value = (value << 1) | bit;
    }
    return value;
}

// ---- Bit trees ----------------------------------------------------------------------

// A `count`-bit number, most significant bit first, each bit coded with the probability of
// its tree node: node 1 is the root, the children of node n are 2n and 2n + 1, so `probs`
// holds 1 << count entries (entry 0 unused).
u32 decode_tree(RangeDecoder& rc, u16* probs, u32 count)
{
    u32 node = 1;
    for (u32 i = 0; i < count; ++i)
        node = (node << 1) | decode_bit(rc, probs[node]);
    return node - (1u << count);
}

// The same walk, but the bits come least significant first (distance low bits, align bits).
u32 decode_reverse_tree(RangeDecoder& rc, u16* probs, u32 count)
{
    u32 node = 1;
    u32 value = 0;
    for (u32 i = 0; i < count; ++i) {
        u32 bit = decode_bit(rc, probs[node]);
        node = (node << 1) | bit;
        value |= bit << i;
    }
    return value;
}

// ---- The probability model ----------------------------------------------------------

constexpr u32 state_count = 12;
constexpr u32 literal_states = 7;  // states below 7: the previous packet was a literal
constexpr u32 max_position_states = 1u << lzma_max_pb;
constexpr u32 literal_coder_size = 0x300;  // a 256-node tree, plus 512 for "matched" bytes
constexpr u32 min_match_length = 2;
constexpr u32 end_marker = 0xFFFFFFFF;  // the distance that ends the stream

// Lengths 2..273 in three ranges: 2..9 and 10..17 (3 bits, modelled per position state)
// and 18..273 (8 bits).
struct LengthModel {
    u16 choice;   // 0: the low range
    u16 choice2;  // 0: the middle range, 1: the high range
    u16 low[max_position_states][1 << 3];
    u16 mid[max_position_states][1 << 3];
    u16 high[1 << 8];
};

// Every adaptive probability of the format. Tables indexed by [state] remember the kinds
// of the last few packets; [position state] is the output position's low pb bits.
// Everything is a u16, so the model can be reset as one array.
struct Model {
    u16 is_match[state_count][max_position_states];      // a literal (0) or a match (1)
    u16 is_rep[state_count];                             // a new distance (0) or a repeat (1)
    u16 is_rep0[state_count];                            // rep0 (0) or rep1..rep3 (1)
    u16 is_rep1[state_count];                            // rep1 (0) or rep2..rep3 (1)
    u16 is_rep2[state_count];                            // rep2 (0) or rep3 (1)
    u16 is_rep0_long[state_count][max_position_states];  // one byte at rep0 (0) or a length (1)
    u16 distance_slot[4][1 << 6];  // 6-bit slots, modelled per length 2, 3, 4 and 5+
    // The low bits of slots 4..13, one reverse tree (at most 5 bits) per slot. The
    // reference layout packs these into 114 entries; any layout that gives every
    // (slot, node) its own probability decodes the same stream.
    u16 distance_low[10][1 << 5];
    u16 align[1 << 4];  // the lowest 4 bits of distances in slots 14 and up
    LengthModel match_length;
    LengthModel rep_length;
    u16 literal[literal_coder_size << lzma_max_lc_plus_lp];
};
static_assert(sizeof(Model) <= 29 * 1024, "the unpacker's stack (boot/unpack/unpack.asm) is planned for a 28 KiB model");

struct Decoder {
    RangeDecoder rc;
    Model model;
    u8* out;
    usize out_capacity;
    usize out_pos;
    u32 state;
    u32 rep[4];  // the four most recent distances, minus 1 (0 = the previous byte)
    u32 lc;
    u32 lp_mask;
    u32 pb_mask;
};

void reset(Model& model)
{
    u16* probabilities = reinterpret_cast<u16*>(&model);
    for (usize i = 0; i < sizeof(Model) / sizeof(u16); ++i)
        probabilities[i] = probability_half;
}

u32 state_after_literal(u32 state) { return state < 4 ? 0 : state < 10 ? state - 3 : state - 6; }
u32 state_after_match(u32 state) { return state < literal_states ? 7 : 10; }
u32 state_after_rep(u32 state) { return state < literal_states ? 8 : 11; }
u32 state_after_short_rep(u32 state) { return state < literal_states ? 9 : 11; }

// ---- Lengths and distances ----------------------------------------------------------

// A match length minus 2 (0..271).
u32 decode_length(RangeDecoder& rc, LengthModel& model, u32 position_state)
{
    if (!decode_bit(rc, model.choice))
        return decode_tree(rc, model.low[position_state], 3);
    if (!decode_bit(rc, model.choice2))
        return 8 + decode_tree(rc, model.mid[position_state], 3);
    return 16 + decode_tree(rc, model.high, 8);
}

// A match distance minus 1, for a match of `length` (minus 2). The 6-bit slot is the
// distance itself below 4; above, it gives the distance's bit count and its top two bits.
// Slots 4..13 send the remaining bits through their own reverse tree; larger slots send
// them as direct bits, except the lowest four, which go through the shared align tree.
u32 decode_distance(RangeDecoder& rc, Model& model, u32 length)
{
    u32 slot = decode_tree(rc, model.distance_slot[length < 3 ? length : 3], 6);
    if (slot < 4)
        return slot;
    u32 low_bits = (slot >> 1) - 1;
    u32 distance = (2 | (slot & 1)) << low_bits;
    if (slot < 14)
        return distance + decode_reverse_tree(rc, model.distance_low[slot - 4], low_bits);
    distance += decode_direct_bits(rc, low_bits - 4) << 4;
    return distance + decode_reverse_tree(rc, model.align, 4);
}

// ---- Literals -----------------------------------------------------------------------

// One literal byte. Its coder is chosen by the position's low lp bits and the previous
// byte's high lc bits. Right after a match, the byte at distance rep0 (the "match byte")
// likely repeats: its bits serve as extra context until the first bit that differs.
u8 decode_literal(Decoder& d)
{
    u32 previous = d.out_pos > 0 ? d.out[d.out_pos - 1] : 0;
    u32 coder = ((static_cast<u32>(d.out_pos) & d.lp_mask) << d.lc) | (previous >> (8 - d.lc));
    u16* probs = d.model.literal + coder * literal_coder_size;
    u32 symbol = 1;  // the tree node: the bits so far behind a leading 1
    if (d.state >= literal_states) {
        // rep0 was checked against the output when that match was copied.
        u32 match_byte = d.out[d.out_pos - d.rep[0] - 1];
        while (symbol < 0x100) {
            u32 match_bit = (match_byte >> 7) & 1;
            match_byte <<= 1;
            u32 bit = decode_bit(d.rc, probs[0x100 + (match_bit << 8) + symbol]);
            symbol = (symbol << 1) | bit;
            if (bit != match_bit)
                break;
        }
    }
    while (symbol < 0x100)
        symbol = (symbol << 1) | decode_bit(d.rc, probs[symbol]);
    return static_cast<u8>(symbol);
}

// ---- Packets ------------------------------------------------------------------------

constexpr i64 packet_decoded = 0;
constexpr i64 end_of_stream = 1;

// Copies `length` bytes from rep0 + 1 bytes back; source and destination may overlap,
// which is how LZMA codes runs.
i64 copy_match(Decoder& d, u32 length)
{
    if (d.rc.overrun())
        return lzma_truncated;
    if (d.rep[0] >= d.out_pos)
        return lzma_bad_distance;
    if (length > d.out_capacity - d.out_pos)
        return lzma_output_full;
    const u8* from = d.out + d.out_pos - d.rep[0] - 1;
    for (u32 i = 0; i < length; ++i)
        d.out[d.out_pos + i] = from[i];
    d.out_pos += length;
    return packet_decoded;
}

// Moves rep[index] to the front of the recent distances, the ones before it down by one.
void promote_rep(Decoder& d, u32 index)
{
    u32 distance = d.rep[index];
    for (u32 i = index; i > 0; --i)
        d.rep[i] = d.rep[i - 1];
    d.rep[0] = distance;
}

// One packet; returns packet_decoded, end_of_stream, or a negative status.
i64 decode_packet(Decoder& d)
{
    RangeDecoder& rc = d.rc;
    Model& model = d.model;
    u32 state = d.state;
    u32 position_state = static_cast<u32>(d.out_pos) & d.pb_mask;

    if (!decode_bit(rc, model.is_match[state][position_state])) {
        u8 byte = decode_literal(d);
        if (rc.overrun())
            return lzma_truncated;
        if (d.out_pos == d.out_capacity)
            return lzma_output_full;
        d.out[d.out_pos++] = byte;
        d.state = state_after_literal(state);
        return packet_decoded;
    }

    u32 length;
    if (!decode_bit(rc, model.is_rep[state])) {
        // A match with a new distance, which becomes rep0.
        length = decode_length(rc, model.match_length, position_state);
        promote_rep(d, 3);
        d.rep[0] = decode_distance(rc, model, length);
        d.state = state_after_match(state);
        if (d.rep[0] == end_marker)
            return rc.overrun() ? lzma_truncated : end_of_stream;
    } else {
        if (!decode_bit(rc, model.is_rep0[state])) {
            if (!decode_bit(rc, model.is_rep0_long[state][position_state])) {
                d.state = state_after_short_rep(state);
                return copy_match(d, 1);
            }
        } else if (!decode_bit(rc, model.is_rep1[state])) {
            promote_rep(d, 1);
        } else {
            promote_rep(d, decode_bit(rc, model.is_rep2[state]) ? 3 : 2);
        }
        length = decode_length(rc, model.rep_length, position_state);
        d.state = state_after_rep(state);
    }
    return copy_match(d, length + min_match_length);
}

}

bool lzma_properties_from_byte(u8 byte, LzmaProperties& properties)
{
    properties.lc = static_cast<u8>(byte % 9);
    byte = static_cast<u8>(byte / 9);
    properties.lp = static_cast<u8>(byte % 5);
    properties.pb = static_cast<u8>(byte / 5);
    return properties.pb <= lzma_max_pb && properties.lc + properties.lp <= lzma_max_lc_plus_lp;
}

i64 lzma_decode_raw(const u8* in, usize in_size, const LzmaProperties& properties, u8* out, usize out_capacity)
{
    if (properties.lc + properties.lp > lzma_max_lc_plus_lp || properties.pb > lzma_max_pb)
        return lzma_bad_properties;
    // The range coder opens with five bytes: a 0 the encoder always writes, then the first
    // 32 bits of the code, big-endian.
    if (in_size < 5)
        return lzma_truncated;
    if (in[0] != 0)
        return lzma_corrupt;

    Decoder d;
    d.rc.in = in;
    d.rc.in_size = in_size;
    d.rc.in_pos = 5;
    d.rc.range = 0xFFFFFFFF;
    d.rc.code = static_cast<u32>(in[1]) << 24 | static_cast<u32>(in[2]) << 16 | static_cast<u32>(in[3]) << 8 | in[4];
    reset(d.model);
    d.out = out;
    d.out_capacity = out_capacity;
    d.out_pos = 0;
    d.state = 0;
    for (u32& distance : d.rep)
        distance = 0;
    d.lc = properties.lc;
    d.lp_mask = (1u << properties.lp) - 1;
    d.pb_mask = (1u << properties.pb) - 1;

    for (;;) {
        i64 status = decode_packet(d);
        if (status < 0)
            return status;
        if (status == end_of_stream)
            break;
    }
    // The encoder flushes its range coder with enough bytes that, after one more
    // normalization, the decoder's code is exactly 0 at exactly the end of the input.
    normalize(d.rc);
    if (d.rc.overrun())
        return lzma_truncated;
    if (d.rc.code != 0 || d.rc.in_pos != in_size)
        return lzma_corrupt;
    return static_cast<i64>(d.out_pos);
}

// ---- x86 BCJ ------------------------------------------------------------------------
//
// The encoder looked for E8 (CALL rel32) and E9 (JMP rel32) bytes and replaced the rel32
// after them with an absolute target (rel32 + the position after the instruction), so
// that calls to one function repeat byte for byte. It only took displacements whose top
// byte is 00 or FF (targets within 16 MiB), and skipped some candidates near other E8/E9
// bytes; the decoder must make the same choices from the same bytes, which is why it
// tracks what the encoder tracked.

namespace {

bool is_near_top_byte(u8 byte) { return byte == 0x00 || byte == 0xFF; }

// `recent` (liblzma's prev_mask) notes the E8/E9 bytes of the last three positions that
// were not converted: bit n = one n bytes back, bit n + 4 = and its would-be top byte was
// 00/FF. A candidate passed over is noted at bit 0 (and 4); at the next E8/E9 byte the
// notes age by the gap between the two, and anything older than three bytes drops out.
u32 age_recent(u32 recent, usize gap)
{
    if (gap > 3)
        return 0;
    for (usize i = 0; i < gap; ++i)
        recent = (recent & 0x77) << 1;
    return recent;
}

// The encoder converts only when no noted candidate had a plausible top byte and at most
// one candidate lies in the three bytes before.
bool may_convert(u32 recent)
{
    u32 nearby = (recent >> 1) & 7;
    return (recent & 0xE0) == 0 && (nearby & (nearby - 1)) == 0;
}

// Turns the absolute target at `pos` (an E8/E9 byte) back into the encoder's input.
void convert(u8* data, usize pos, u32 recent)
{
    u32 value = static_cast<u32>(data[pos + 1]) | static_cast<u32>(data[pos + 2]) << 8
        | static_cast<u32>(data[pos + 3]) << 16 | static_cast<u32>(data[pos + 4]) << 24;
    u32 next_instruction = static_cast<u32>(pos) + 5;
    // A candidate n bytes back (n = 1..3) would read byte 4 - n of this displacement as
    // its top byte. While the result has 00/FF there, the encoder had inverted the bits
    // below that byte and converted again; repeating that undoes it.
    u32 back = recent & 8 ? 3 : recent & 4 ? 2 : recent & 2 ? 1 : 0;
    u32 target = value - next_instruction;
    while (back != 0) {
        u32 shift = 24 - 8 * back;
        if (!is_near_top_byte(static_cast<u8>(target >> shift)))
            break;
        value = target ^ ((1u << (shift + 8)) - 1);
        target = value - next_instruction;
    }
    data[pos + 1] = static_cast<u8>(target);
    data[pos + 2] = static_cast<u8>(target >> 8);
    data[pos + 3] = static_cast<u8>(target >> 16);
    data[pos + 4] = target & (1u << 24) ? 0xFF : 0x00;  // the 25-bit result, sign-extended
}

}

void x86_bcj_decode(u8* data, usize size)
{
    u32 recent = 0;
    // The previous E8/E9 position: the filter starts as if one sat 5 bytes before the
    // start, too far back to matter.
    usize previous = static_cast<usize>(-5);
    for (usize pos = 0; pos + 5 <= size;) {
        if (data[pos] != 0xE8 && data[pos] != 0xE9) {
            ++pos;
            continue;
        }
        recent = age_recent(recent, pos - previous);
        previous = pos;
        u8 top = data[pos + 4];
        if (is_near_top_byte(top) && may_convert(recent)) {
            convert(data, pos, recent);
            pos += 5;
            recent = 0;
        } else {
            ++pos;
            recent |= is_near_top_byte(top) ? 0x11 : 0x01;
        }
    }
}

}
