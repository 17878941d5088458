// The x86 branch filter (see x86_filter.h).
#include "kernel_lib/codec/x86_filter.h"

namespace kl {

namespace {

bool is_near_top_byte(u8 byte) { return byte == 0x00 || byte == 0xFF; }

// Both directions scan alike: at each position, an opcode is looked for; its rel32 field is
// skipped in any case and converted when its top byte is 00/FF. Conversion keeps the top
// byte 00/FF (the value is a 25-bit two's complement number either way) and touches only
// that field, which no other position's decision reads, so the decoder, meeting the
// encoder's output, makes the same choices at the same positions.
void filter(u8* data, usize size, bool encode)
{
    for (usize pos = 0; pos + 6 <= size;) {
        usize field;
        if (data[pos] == 0xE8 || data[pos] == 0xE9)
            field = pos + 1;
        else if (data[pos] == 0x0F && (data[pos + 1] & 0xF0) == 0x80)
            field = pos + 2;
        else {
            ++pos;
            continue;
        }
        pos = field + 4;
        if (!is_near_top_byte(data[field + 3]))
            continue;
        u32 value = static_cast<u32>(data[field]) | static_cast<u32>(data[field + 1]) << 8
            | static_cast<u32>(data[field + 2]) << 16 | static_cast<u32>(data[field + 3]) << 24;
        u32 next_instruction = static_cast<u32>(field + 4);
        value = encode ? value + next_instruction : value - next_instruction;
        data[field] = static_cast<u8>(value);
        data[field + 1] = static_cast<u8>(value >> 8);
        data[field + 2] = static_cast<u8>(value >> 16);
        data[field + 3] = value & (1u << 24) ? 0xFF : 0x00;  // sign-extended from 25 bits
    }
}

}

void x86_filter_encode(u8* data, usize size) { filter(data, size, true); }

void x86_filter_decode(u8* data, usize size) { filter(data, size, false); }

}
