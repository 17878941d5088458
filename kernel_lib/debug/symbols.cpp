// Symbol table lookup (see symbols.h).
#include "kernel_lib/debug/symbols.h"

#include <string.h>

namespace kl::debug {

bool SymbolTable::load(const u8* data, usize size)
{
    m_count = 0;
    if (size < 16 || memcmp(data, "BFSYMS1\0", 8) != 0)
        return false;
    u32 count, strings_offset;
    memcpy(&count, data + 8, 4);
    memcpy(&strings_offset, data + 12, 4);
    if (strings_offset != 16 + static_cast<u64>(count) * sizeof(Entry) || strings_offset > size)
        return false;
    m_entries = reinterpret_cast<const Entry*>(data + 16);
    m_strings = reinterpret_cast<const char*>(data + strings_offset);
    m_strings_size = size - strings_offset;
    m_count = count;
    return true;
}

const char* SymbolTable::lookup(u64 address, u64* offset) const
{
    // The last symbol starting at or below the address.
    u32 low = 0, high = m_count;
    while (low < high) {
        u32 mid = low + (high - low) / 2;
        if (m_entries[mid].address <= address)
            low = mid + 1;
        else
            high = mid;
    }
    if (low == 0)
        return nullptr;
    const Entry& e = m_entries[low - 1];
    u64 delta = address - e.address;
    // Symbols without a size (assembly labels) match up to the next symbol.
    if (e.size != 0 && delta >= e.size)
        return nullptr;
    if (e.name_offset >= m_strings_size)
        return nullptr;
    if (offset)
        *offset = delta;
    return m_strings + e.name_offset;
}

SymbolTable& kernel_symbols()
{
    static SymbolTable table;
    return table;
}

}
