// Context-mixing compression of the kernel image (see cm.h).
//
// Reads top to bottom: the logistic domain (stretch/squash), the configuration of the
// models, the tables they keep, the predictor (context hashes per byte, bucket lookups per
// nibble, then per bit: each model's guess, the model maps, the mixer, the APM, and the
// updates once the bit is known), the arithmetic coder, and the decoder and encoder loops.
// Probabilities are 12-bit integers (the chance that the next bit is 1, in 1/4096ths);
// everything is integer arithmetic, so host and unpacker compute identical predictions.
#include "kernel_lib/codec/cm.h"

namespace kl {

namespace {

// ---- The logistic domain ----------------------------------------------------------------

// stretch(p) = ln(p / (1 - p)) and squash, its inverse, both with the logistic value scaled
// by 256 and clamped to +-2047. Mixing happens on stretched values: adding them multiplies
// odds, which is how independent evidence combines.
constexpr i32 logistic_limit = 2047;

// squash at x = -2048, -1920, ..., 2048: 4096 / (1 + e^(-x / 256)), rounded.
constexpr u16 squash_points[33] = { 1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
    2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095 };

i32 squash(i32 x)
{
    if (x > logistic_limit)
        x = logistic_limit;
    if (x < -logistic_limit)
        x = -logistic_limit;
    i32 index = (x >> 7) + 16;
    i32 weight = x & 127;
    return (squash_points[index] * (128 - weight) + squash_points[index + 1] * weight + 64) >> 7;
}

// ---- The models -------------------------------------------------------------------------

// Each context model hashes a choice of the bytes before the current one: bit k of its mask
// picks the byte k + 1 back. The sparse ones (skipping bytes) catch instruction operands and
// table columns; context_word adds the hash of the letters of the current word (strings),
// context_x86 the x86 model's context (which field of which instruction the byte is, below),
// context_field the field alone, without the opcode.
// The unpacker decodes every bit of the kernel through all of them, under QEMU's emulation
// too, so each model must pay for its time: these are the ones that did, measured on the
// kernel image (see boot/README.md). The x86 context took 4.3 % off it; with it, the byte
// two back alone (0x02) packed 0.1 % worse than without, so it made room. The field
// context took 1.1 % more, and the x86 context with the previous byte 0.3 % more (about
// 0.25 s more per boot under QEMU's emulation, once the kernel had no bytes to spare).
constexpr u16 context_word = 0x100;
constexpr u16 context_x86 = 0x200;
constexpr u16 context_field = 0x400;
constexpr u16 context_masks[] = { 0x01, 0x03, 0x06, 0x0c, 0x05, context_word, context_x86, context_field, context_x86 | 0x01 };
constexpr u32 context_model_count = sizeof(context_masks) / sizeof(context_masks[0]);
// start_byte() hashes only the four bytes before the current one.
static_assert([] {
    for (u16 mask : context_masks) {
        if (mask & 0xF0)
            return false;
    }
    return true;
}());

// The match model predicts the byte that followed the most recent occurrence of the last
// match_min_length bytes, more confidently the longer the match has held.
constexpr u32 match_min_length = 4;
constexpr u32 match_table_bits = 16;
constexpr u32 match_length_classes = 32;

// Mixer inputs: one per context model, the match model, and a constant bias.
constexpr u32 input_count = context_model_count + 2;
// The mixer's weights are the sum of four sets, trained together: one per (partial byte,
// match state: no match, or the expected bit and the match length in three classes, below
// 16, below 32, longer), one per (byte k back, bit position) for k = 1, 2: what the bytes
// before were (an opcode, a ModRM byte, a letter) tells which models to trust for each bit
// of this one, and one per (x86 field, bit position) (X86::weight_key). The byte sets took
// 2.8 % off the kernel image; the x86 set, in place of one for the byte three back, 0.4 %.
constexpr u32 match_states = 7;
constexpr u32 weight_set_count = 256 * match_states;
constexpr u32 byte_weight_sets = 3;  // predict() and update() name each
constexpr u32 byte_weight_set_count = 256 * 8;
// The weights learn at twice the rate over the first 8 KiB, while they are far from trained
// (0.05 % tighter).
constexpr i32 mixer_learning_rate = 2;
constexpr i32 mixer_early_rate = 4;
constexpr usize mixer_early_bytes = 8192;
constexpr i32 initial_weight = (1 << 14) / 5;  // per set: the four sum to 0.2 in 16.16 fixed point (0.25: 0.05 % looser)

// A counter is a 12-bit probability and a 4-bit count of the bits it has seen (up to 15);
// it moves 2 / (2n + 3) of the way to each new bit, so it learns fast at first and then
// settles at the rate for n = 3, which keeps it adapting to the code at hand. Rates in
// 1/65536ths, indexed by the count. (The limit was n = 6 before the model maps below,
// which tell a young counter from an old one; with them n = 3 packed 0.2 % tighter.)
constexpr u16 counter_rates[16] = { 43691, 26214, 18725, 14564, 14564, 14564, 14564, 14564, 14564, 14564, 14564,
    14564, 14564, 14564, 14564, 14564 };
constexpr u16 counter_initial = 2048 << 4;

// The adaptive probability map (APM) refining the mixer's output: 33 interpolation points
// over the stretched input, per partial byte and x86 field of the byte (which field, and
// whether it is the field's first byte; in place of the previous byte's high nibble, 0.07 %
// tighter); the final probability is the mean of the two.
constexpr u32 map_points = 33;
constexpr u32 map_rate = 6;
// Each context model's guess reaches the mixer as the mean (stretched) of its counter and
// of a model map: per model and counter count, 64 steps over the counter's stretched
// probability, each learning what the bit turned out to be (rate 1/128). It tells how far
// to trust a counter that has seen few bits. With the counter limit above and the 1:1 final
// mean, -664 bytes on the kernel image (0.7 %) for 16 KiB of tables and +20 % decoding
// instructions (a second mixer input per model instead packed worse).
constexpr u32 model_map_steps = 64;
constexpr u32 model_map_rate = 7;

// ---- Tables -----------------------------------------------------------------------------

// A bucket holds the 15 counters of one nibble's bit tree for one context, tagged with 16
// bits of the context hash so that a different context is noticed (and the bucket taken
// over) instead of sharing its statistics.
struct Bucket {
    u16 check;
    u16 counters[15];
};
static_assert(sizeof(Bucket) == cm_bucket_bytes);

struct Tables {
    i16 stretch[4096];
    u16 squash[2 * logistic_limit + 1];  // squash(x) at x + logistic_limit
    u16 match_counters[match_length_classes][2];
    u16 apm[16 * 256][map_points];
    u16 model_maps[context_model_count][16][model_map_steps];
    i32 weights[weight_set_count][input_count];
    i32 byte_weights[byte_weight_sets][byte_weight_set_count][input_count];
    u32 match_positions[1u << match_table_bits];
    Bucket buckets[];
};

template<typename T>
void fill(T* first, usize count, T value)
{
    for (usize i = 0; i < count; ++i)
        first[i] = value;
}

void init_tables(Tables& t, u32 bucket_count)
{
    // stretch is squash inverted: the smallest x whose squash reaches p.
    i32 p = 0;
    for (i32 x = -logistic_limit; x <= logistic_limit; ++x) {
        i32 v = squash(x);
        t.squash[x + logistic_limit] = static_cast<u16>(v);
        for (; p <= v; ++p)
            t.stretch[p] = static_cast<i16>(x);
    }
    for (; p < 4096; ++p)
        t.stretch[p] = logistic_limit;
    // The maps start as the identity: each point is the probability it stands for (the
    // APM's at its point, the model maps' at the middle of their step). t.squash[x + 2047]
    // is squash(x): APM point j stands for x = (j - 16) * 128 (clamped to the table's ends
    // for j = 0 and 32); step s of a model map holds the x with (x + 2048) >> 6 == s, whose
    // middle is 64 s + 32 - 2048. (Table reads rather than squash() calls: 62 bytes less
    // in the unpacker.)
    for (u32 c = 0; c < 16 * 256; ++c) {
        for (u32 j = 0; j < map_points; ++j)
            t.apm[c][j] = static_cast<u16>(t.squash[j == 0 ? 0 : j * 128 - 1 - (j == 32)] * 16);
    }
    u16* step = &t.model_maps[0][0][0];
    for (u32 k = 0; k < context_model_count * 16 * model_map_steps; ++k)
        step[k] = static_cast<u16>(t.squash[k % model_map_steps * 64 + 31] * 16);
    fill(&t.match_counters[0][0], match_length_classes * 2, counter_initial);
    fill(&t.weights[0][0], weight_set_count * input_count, initial_weight);
    fill(&t.byte_weights[0][0][0], byte_weight_sets * byte_weight_set_count * input_count, initial_weight);
    fill<u32>(t.match_positions, 1u << match_table_bits, 0);
    fill<u16>(&t.buckets[0].check, bucket_count * (cm_bucket_bytes / 2), 0);
}

u32 finalize_hash(u32 h)
{
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    return h ^ (h >> 15);
}

// Moves a counter towards the bit (target 0 or 4095).
void update_counter(u16& counter, i32 target)
{
    i32 p = counter >> 4;
    u32 n = counter & 15;
    p += ((target - p) * counter_rates[n]) >> 16;
    counter = static_cast<u16>(p << 4 | (n + (n < 15)));
}

// ---- The x86 model ----------------------------------------------------------------------

// A length decoder for x86-64 code, run causally over the bytes already coded: it tells
// which field of an instruction the next byte is (prefix or opcode, ModRM, SIB,
// displacement, immediate) and which opcode it belongs to. Data parses as nonsense, which
// costs nothing but the models' attention.
enum : u32 { x86_opcode, x86_opcode2, x86_opcode3, x86_vex, x86_modrm, x86_sib, x86_disp, x86_imm };

// Per opcode of the one-byte map, then of the 0F map, two a byte: bit 3 a ModRM byte
// follows, bits 0-2 the immediate's kind (x86_immediate_sizes; 7 after a ModRM byte: ib or
// iz if ModRM.reg < 2, as for F6/F7; 7 alone: a prefix, REX, 0F or VEX/EVEX).
constexpr u8 x86_opcodes[256] = {
    0x88, 0x88, 0x21, 0x00, 0x88, 0x88, 0x21, 0x70, 0x88, 0x88, 0x21, 0x00, 0x88, 0x88, 0x21, 0x00,
    0x88, 0x88, 0x21, 0x07, 0x88, 0x88, 0x21, 0x07, 0x88, 0x88, 0x21, 0x07, 0x88, 0x88, 0x21, 0x07,
    0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x87, 0x77, 0x77, 0xa2, 0x91, 0x00, 0x00, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0xa9, 0x99, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x66, 0x66, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x11, 0x11, 0x11, 0x11, 0x44, 0x44, 0x44, 0x44,
    0x99, 0x03, 0x77, 0xa9, 0x05, 0x03, 0x10, 0x00, 0x88, 0x88, 0x11, 0x00, 0x88, 0x88, 0x88, 0x88,
    0x11, 0x11, 0x11, 0x11, 0x22, 0x10, 0x00, 0x00, 0x07, 0x77, 0x00, 0xff, 0x00, 0x00, 0x00, 0x88,
    0x88, 0x88, 0x08, 0x00, 0x00, 0x08, 0x88, 0x80, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
    0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x00, 0x00, 0x00, 0x08, 0x88, 0x88, 0x88, 0x88,
    0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
    0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x99, 0x99, 0x88, 0x08, 0x88, 0x88, 0x88, 0x88,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
    0x00, 0x80, 0x89, 0x88, 0x00, 0x80, 0x89, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x89, 0x88, 0x88,
    0x88, 0x89, 0x99, 0x89, 0x00, 0x00, 0x00, 0x00, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
    0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
};
// The immediate's size per kind: none, ib, iz, iw, iv, iw + ib, moffs; 66 makes iz and iv
// two bytes, REX.W iv eight.
constexpr u8 x86_immediate_sizes[8] = { 0, 1, 4, 2, 4, 3, 8, 0 };

struct X86 {
    u32 kind = x86_opcode;  // the next byte's field
    u32 index = 0;          // its index in the field (prefixes count in the opcode's)
    u32 remaining = 0;      // bytes left in a displacement, immediate or VEX payload
    u32 opcode = 0;         // map << 8 | opcode
    u32 flags = 0;          // 1: 66, 2: REX.W
    u32 info = 0;           // the opcode's x86_opcodes entry
    u32 modrm = 0;
    u32 displacement = 0;
    u32 immediate = 0;
    u32 map = 0;            // 1: 0F, 2: 0F 38, 3: 0F 3A

    // The displacement, then the immediate, then the next instruction.
    void operands()
    {
        index = 0;
        if (displacement) {
            kind = x86_disp;
            remaining = displacement;
        } else if (immediate) {
            kind = x86_imm;
            remaining = immediate;
        } else {
            kind = x86_opcode;
            flags = 0;
        }
    }
    // b: the byte just coded, of field `kind`.
    void next(u32 b)
    {
        switch (kind) {
        case x86_opcode:
            info = x86_opcodes[b >> 1] >> (b & 1) * 4 & 15;
            if (info == 7) {
                if (b == 0x0F) {
                    kind = x86_opcode2;
                    map = 1;
                } else if (b == 0xC4 || b == 0xC5 || b == 0x62) {
                    kind = x86_vex;
                    remaining = b == 0xC5 ? 1 : b == 0xC4 ? 2 : 3;
                    map = b == 0xC5 ? 1 : 0;
                    index = 0;
                } else {
                    flags |= (b & 0xF8) == 0x48 ? 2 : b == 0x66 ? 1 : 0;
                    ++index;
                }
                return;
            }
            opcode = b;
            break;
        case x86_opcode2:
        case x86_opcode3:
            if (kind == x86_opcode2 && (b == 0x38 || b == 0x3A)) {
                kind = x86_opcode3;
                map = b == 0x38 ? 2 : 3;
                return;
            }
            opcode = map << 8 | b;
            info = map == 1 ? x86_opcodes[128 + (b >> 1)] >> (b & 1) * 4 & 15 : map == 2 ? 8 : 9;
            break;
        case x86_vex:
            if (map == 0)
                map = (b & 3) == 0 ? 1 : b & 3;
            ++index;
            if (--remaining == 0)
                kind = map == 1 ? x86_opcode2 : x86_opcode3;
            return;
        case x86_modrm:
            modrm = b;
            displacement = b >> 6 == 1 ? 1 : b >> 6 == 2 || (b & 0xC7) == 5 ? 4 : 0;
            if ((info & 7) == 7 && (b >> 3 & 7) < 2)
                immediate = opcode & 1 ? (flags & 1 ? 2 : 4) : 1;
            if (b >> 6 != 3 && (b & 7) == 4)
                kind = x86_sib;
            else
                operands();
            return;
        case x86_sib:
            if (modrm >> 6 == 0 && (b & 7) == 5)
                displacement = 4;
            operands();
            return;
        default:
            ++index;
            if (--remaining == 0) {
                if (kind == x86_disp)
                    displacement = 0;
                else
                    immediate = 0;
                operands();
            }
            return;
        }
        // After an opcode: its ModRM byte, or its operands.
        u32 code = info & 7;
        immediate = x86_immediate_sizes[code];
        if (code == 2 || code == 4)
            immediate = flags & 1 ? 2 : code == 4 && flags & 2 ? 8 : immediate;
        displacement = 0;
        if (info & 8) {
            kind = x86_modrm;
            index = 0;
        } else {
            operands();
        }
    }
    // The context: the field, the byte's index in it, and for the opcode, ModRM and SIB
    // bytes the opcode (of the instruction before, while at its opcode) and the operand size
    // prefixes, for displacements and immediates the sizes of both.
    u32 context() const
    {
        u32 c = kind | (index < 7 ? index : 7) << 3;
        if (kind >= x86_disp)
            return c | (immediate + displacement * 16) << 6;
        return c | opcode << 6 | (flags & 3) << 26;
    }
    // The field context: the field, the index in it and the operand size prefixes, no
    // opcode (the distribution of displacement and immediate bytes, of opcodes after any
    // instruction).
    u32 field_context() const { return kind | (index < 7 ? index : 7) << 3 | (flags & 3) << 6; }
    // The key of the mixer's x86 weight set (below 128): the field, the index in it and the
    // operand size prefixes.
    u32 weight_key() const { return kind | (index < 3 ? index : 3) << 3 | (flags & 3) << 5; }
};

// ---- The predictor ----------------------------------------------------------------------

class Predictor {
public:
    Predictor(Tables& tables, u32 bucket_count, const u8* history)
        : m_t(tables)
        , m_bucket_count(bucket_count)
        , m_history(history)
    {
        start_byte();
        predict();
    }

    // The probability (1/4096ths, 1..4095) that the next bit is 1.
    u32 p() const { return m_p; }
    // Learns the bit p() was about, moves to the next and predicts it.
    void update(u32 bit);

private:
    void start_byte();
    void start_nibble();
    u16* find_bucket(u32 hash);
    void update_match();
    void predict();

    Tables& m_t;
    u32 m_bucket_count;
    const u8* m_history;  // the bytes before the current one
    usize m_pos = 0;      // the current byte's index
    u32 m_partial = 1;    // the bits of the current byte so far, after a leading 1
    u32 m_node = 1;       // the same within the current nibble
    u32 m_bit_count = 0;  // bits of the current byte so far
    u32 m_keys[byte_weight_sets] {};  // the bytes 1 and 2 back and the x86 key (the byte weight sets' keys)
    u32 previous() const { return m_keys[0]; }  // the byte before the current one
    u32 m_word = 0;
    X86 m_x86;
    u32 m_match_pointer = 0;
    u32 m_match_length = 0;
    u32 m_hashes[context_model_count] {};
    u16* m_buckets[context_model_count] {};

    // What predict() looked at, for update().
    i32 m_inputs[input_count] {};
    i32* m_weights = nullptr;
    i32* m_byte_weights[byte_weight_sets] {};
    u16* m_match_counter = nullptr;
    u16* m_apm_point = nullptr;
    u16* m_map_points[context_model_count] {};
    i32 m_mixed = 2048;
    u32 m_p = 2048;
};

void Predictor::update_match()
{
    const u8* h = m_history;
    usize pos = m_pos;
    if (m_match_length > 0 && h[m_match_pointer] == h[pos - 1]) {
        ++m_match_length;
        ++m_match_pointer;
    } else {
        m_match_length = 0;
    }
    if (pos < match_min_length)
        return;
    u32 hash = 0;
    for (u32 k = 1; k <= match_min_length; ++k)
        hash = (hash + h[pos - k] + 1) * 0x2545F491u;
    u32& slot = m_t.match_positions[hash >> (32 - match_table_bits)];
    if (m_match_length == 0 && slot > 0) {
        u32 length = 0;
        while (length < match_length_classes && length < slot && h[slot - 1 - length] == h[pos - 1 - length])
            ++length;
        if (length >= match_min_length) {
            m_match_length = length;
            m_match_pointer = slot;
        }
    }
    slot = static_cast<u32>(pos);
}

void Predictor::start_byte()
{
    const u8* h = m_history;
    usize pos = m_pos;
    u32 recent[4];
    for (u32 k = 0; k < 4; ++k)
        recent[k] = pos > k ? h[pos - 1 - k] : 0;
    m_keys[0] = recent[0];
    m_keys[1] = recent[1];
    if (pos > 0) {
        u32 c = recent[0] | 0x20;  // letters of either case alike
        m_word = c >= 'a' && c <= 'z' ? (m_word + c) * 0x6F4F2A35u : 0;
        m_x86.next(recent[0]);
        update_match();
    }
    for (u32 i = 0; i < context_model_count; ++i) {
        u32 mask = context_masks[i];
        u32 hash = (i + 1) * 0x9E3779B1u;
        for (u32 k = 0, bits = mask & 15; bits != 0; ++k, bits >>= 1) {
            if (bits & 1)
                hash = (hash + recent[k] + 1) * 0x2545F491u;
        }
        if (mask & context_word)
            hash = (hash + m_word + 1) * 0x2545F491u;
        if (mask & context_x86)
            hash = (hash + m_x86.context() + 1) * 0x2545F491u;
        if (mask & context_field)
            hash = (hash + m_x86.field_context() + 1) * 0x2545F491u;
        m_hashes[i] = hash;
    }
    m_keys[2] = m_x86.weight_key();
    m_partial = 1;
    m_bit_count = 0;
    start_nibble();
}

// The bucket of a context: one of three neighbours (in an aligned four), whichever holds it
// already, else the one whose first counter has seen fewer bits (an empty one first),
// cleared for the newcomer. (Three pack the kernel image 0.18 % tighter than two, four only
// 0.06 %: in the memory the unpacker has, the buckets are contended.)
u16* Predictor::find_bucket(u32 hash)
{
    hash = finalize_hash(hash);
    u16 check = static_cast<u16>(hash | 1);
    u32 index = static_cast<u32>((static_cast<u64>(hash) * m_bucket_count) >> 32);
    Bucket* chosen = nullptr;
    u32 chosen_priority = ~0u;
    for (u32 probe = 0; probe < 3; ++probe) {
        Bucket& b = m_t.buckets[index ^ probe];
        if (b.check == check)
            return b.counters;
        u32 priority = b.check == 0 ? 0 : 1 + (b.counters[0] & 15);
        if (priority < chosen_priority) {
            chosen_priority = priority;
            chosen = &b;
        }
    }
    chosen->check = check;
    fill<u16>(chosen->counters, 15, counter_initial);
    return chosen->counters;
}

void Predictor::start_nibble()
{
    u32 nibble = m_partial > 1 ? m_partial * 0x3C6EF372u : 0;
    for (u32 i = 0; i < context_model_count; ++i)
        m_buckets[i] = find_bucket(m_hashes[i] + nibble);
    m_node = 1;
}

void Predictor::predict()
{
    // The match model: the expected bit, while the predicted byte agrees with this one so far.
    u32 match_state = 0;
    m_match_counter = nullptr;
    m_inputs[context_model_count] = 0;
    if (m_match_length > 0) {
        u32 predicted = m_history[m_match_pointer] | 0x100;
        if ((predicted >> (8 - m_bit_count)) == m_partial) {
            u32 expected = predicted >> (7 - m_bit_count) & 1;
            u32 length = m_match_length < match_length_classes ? m_match_length : match_length_classes - 1;
            m_match_counter = &m_t.match_counters[length][expected];
            m_inputs[context_model_count] = m_t.stretch[*m_match_counter >> 4];
            match_state = 1 + expected + 2 * (m_match_length < 16 ? 0 : m_match_length < 32 ? 1 : 2);
        } else {
            m_match_length = 0;
        }
    }
    m_weights = m_t.weights[m_partial + 256 * match_state];
    for (u32 k = 0; k < byte_weight_sets; ++k)
        m_byte_weights[k] = m_t.byte_weights[k][m_keys[k] * 8 + m_bit_count];
    for (u32 i = 0; i < context_model_count; ++i) {
        u32 c = m_buckets[i][m_node - 1];
        i32 st = m_t.stretch[c >> 4];
        m_map_points[i] = &m_t.model_maps[i][c & 15][(st + logistic_limit + 1) >> 6];  // st within +-2047
        m_inputs[i] = (st + m_t.stretch[*m_map_points[i] >> 4]) >> 1;
    }
    m_inputs[input_count - 1] = 256;
    i64 dot = 0;
    const i32* w0 = m_weights;
    const i32* w1 = m_byte_weights[0];
    const i32* w2 = m_byte_weights[1];
    const i32* w3 = m_byte_weights[2];
    for (u32 i = 0; i < input_count; ++i)
        dot += m_inputs[i] * (static_cast<i64>(w0[i]) + w1[i] + w2[i] + w3[i]);
    i64 x = dot >> 16;
    x = x > logistic_limit ? logistic_limit : x < -logistic_limit ? -logistic_limit : x;
    m_mixed = m_t.squash[x + logistic_limit];

    // The APM: the two points around the mixer's stretched output, interpolated; the nearer
    // one learns from the bit.
    i32 s = static_cast<i32>(x) + 2048;
    i32 weight = s & 127;
    u16* at = m_t.apm[m_partial | (m_x86.kind | (m_x86.index > 0) << 3) << 8] + (s >> 7);
    m_apm_point = at + (weight >> 6);
    i32 refined = (at[0] * (128 - weight) + at[1] * weight) >> 11;
    i32 p = (m_mixed + refined + 1) >> 1;
    m_p = static_cast<u32>(p < 1 ? 1 : p > 4095 ? 4095 : p);
}

void Predictor::update(u32 bit)
{
    i32 rate = m_pos < mixer_early_bytes ? mixer_early_rate : mixer_learning_rate;
    i32 error = ((static_cast<i32>(bit) << 12) - m_mixed) * rate;
    // Weights wrap around rather than overflow: a damaged stream may push one in the same
    // direction for as long as it likes, and the result must still be defined.
    i32* w0 = m_weights;
    i32* w1 = m_byte_weights[0];
    i32* w2 = m_byte_weights[1];
    i32* w3 = m_byte_weights[2];
    for (u32 i = 0; i < input_count; ++i) {
        u32 step = static_cast<u32>((m_inputs[i] * error) >> 14);
        w0[i] = static_cast<i32>(static_cast<u32>(w0[i]) + step);
        w1[i] = static_cast<i32>(static_cast<u32>(w1[i]) + step);
        w2[i] = static_cast<i32>(static_cast<u32>(w2[i]) + step);
        w3[i] = static_cast<i32>(static_cast<u32>(w3[i]) + step);
    }
    i32 target = bit ? 4095 : 0;
    for (u32 i = 0; i < context_model_count; ++i) {
        update_counter(m_buckets[i][m_node - 1], target);
        *m_map_points[i] = static_cast<u16>(*m_map_points[i] + (((bit ? 65535 : 0) - *m_map_points[i]) >> model_map_rate));
    }
    if (m_match_counter)
        update_counter(*m_match_counter, target);
    *m_apm_point = static_cast<u16>(*m_apm_point + (((bit ? 65535 : 0) - *m_apm_point) >> map_rate));

    m_partial = m_partial << 1 | bit;
    m_node = m_node << 1 | bit;
    ++m_bit_count;
    if (m_partial >= 256) {
        ++m_pos;
        start_byte();
    } else if (m_partial >= 16 && m_node >= 16) {
        start_nibble();
    }
    predict();
}

// ---- The arithmetic coder ---------------------------------------------------------------

// The interval [low, high] narrows with every bit to the part the bit's probability
// gives it; once both ends share their top byte, that byte is settled and shifted out.
struct Interval {
    u32 low = 0;
    u32 high = 0xFFFFFFFF;

    u32 split(u32 p) const { return low + static_cast<u32>((static_cast<u64>(high - low) * p) >> 12); }
    bool settled() const { return ((low ^ high) & 0xFF000000) == 0; }
    void shift()
    {
        low <<= 8;
        high = high << 8 | 0xFF;
    }
};

Tables* prepare_tables(u32 bucket_count, void* scratch, usize scratch_size)
{
    if (bucket_count < cm_min_bucket_count || bucket_count > cm_max_bucket_count || bucket_count % 4 != 0
        || scratch_size < cm_scratch_bytes(bucket_count))
        return nullptr;
    Tables* tables = static_cast<Tables*>(scratch);
    init_tables(*tables, bucket_count);
    return tables;
}

}

usize cm_scratch_bytes(u32 bucket_count)
{
    return sizeof(Tables) + static_cast<usize>(bucket_count) * cm_bucket_bytes;
}

u32 cm_bucket_count_for(usize scratch_size)
{
    if (scratch_size < cm_scratch_bytes(cm_min_bucket_count))
        return 0;
    usize count = (scratch_size - sizeof(Tables)) / cm_bucket_bytes;
    return static_cast<u32>(kl::min<usize>(count, cm_max_bucket_count) & ~static_cast<usize>(3));
}

i64 cm_decode(const u8* in, usize in_size, u8* out, usize out_size, u32 bucket_count, void* scratch, usize scratch_size)
{
    Tables* tables = prepare_tables(bucket_count, scratch, scratch_size);
    if (!tables)
        return cm_bad_tables;
    usize in_pos = 0;
    auto next_byte = [&]() -> u32 { return in_pos < in_size ? in[in_pos++] : (++in_pos, 0u); };
    u32 code = 0;
    for (u32 k = 0; k < 4; ++k)
        code = code << 8 | next_byte();
    Interval interval;
    Predictor predictor(*tables, bucket_count, out);
    for (usize pos = 0; pos < out_size; ++pos) {
        u32 byte = 0;
        for (u32 k = 0; k < 8; ++k) {
            u32 mid = interval.split(predictor.p());
            u32 bit = code <= mid ? 1 : 0;
            if (bit)
                interval.high = mid;
            else
                interval.low = mid + 1;
            // The byte is stored before the predictor moves on, since it reads the history.
            byte = byte << 1 | bit;
            if (k == 7)
                out[pos] = static_cast<u8>(byte);
            predictor.update(bit);
            while (interval.settled()) {
                interval.shift();
                code = code << 8 | next_byte();
            }
            if (in_pos > in_size)
                return cm_truncated;
        }
    }
    return in_pos == in_size ? static_cast<i64>(out_size) : cm_trailing_bytes;
}

i64 cm_encode(const u8* in, usize in_size, u8* out, usize out_capacity, u32 bucket_count, void* scratch,
    usize scratch_size)
{
    Tables* tables = prepare_tables(bucket_count, scratch, scratch_size);
    if (!tables)
        return cm_bad_tables;
    usize out_pos = 0;
    auto put = [&](u32 byte) {
        if (out_pos < out_capacity)
            out[out_pos] = static_cast<u8>(byte);
        ++out_pos;
    };
    Interval interval;
    Predictor predictor(*tables, bucket_count, in);
    for (usize pos = 0; pos < in_size; ++pos) {
        for (u32 k = 0; k < 8; ++k) {
            u32 bit = in[pos] >> (7 - k) & 1;
            u32 mid = interval.split(predictor.p());
            if (bit)
                interval.high = mid;
            else
                interval.low = mid + 1;
            predictor.update(bit);
            while (interval.settled()) {
                put(interval.high >> 24);
                interval.shift();
            }
        }
    }
    // Four bytes of `low` pin the code inside the final interval.
    for (u32 k = 0; k < 4; ++k)
        put(interval.low >> (24 - 8 * k));
    return out_pos <= out_capacity ? static_cast<i64>(out_pos) : cm_output_full;
}

}
