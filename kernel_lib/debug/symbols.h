// Kernel symbol names for fault reports and backtraces.
//
// The table is a payload ("ksyms") written at build time by scripts/make-symbols from the
// linked kernel, so adding it does not change the kernel's own addresses.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::debug {

class SymbolTable {
public:
    // Adopts a table in the make-symbols format; false (and an empty table) if malformed.
    bool load(const u8* data, usize size);
    bool loaded() const { return m_count > 0; }
    u32 count() const { return m_count; }

    // The function containing `address`: its name and the offset into it; nullptr when the
    // address is outside every known symbol.
    const char* lookup(u64 address, u64* offset) const;

private:
    struct [[gnu::packed]] Entry {
        u64 address;
        u32 size;
        u32 name_offset;
    };
    const Entry* m_entries = nullptr;
    const char* m_strings = nullptr;
    usize m_strings_size = 0;
    u32 m_count = 0;
};

// The kernel's table (empty until the kernel loads the payload).
SymbolTable& kernel_symbols();

}
