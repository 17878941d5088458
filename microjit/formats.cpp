// The format table (see formats.h).
#include "microjit/formats.h"

#include "microjit/reference.h"

namespace mjit {

namespace {

constexpr FormatInfo table[format_count] = {
    { "f32", 0, 1, 4, Format::F32, ref::matmul_f32 },
    { "q8", no_ggml_type, 0, 0, Format::Q8G, ref::matmul_q8 },
};

}

const FormatInfo& format_info(Format format) { return table[static_cast<int>(format)]; }

u64 weight_row_bytes(Format format, u64 n)
{
    const FormatInfo& f = format_info(format);
    if (f.block_values == 0)
        return n;  // Q8G: one byte per value
    return n / f.block_values * f.block_bytes;
}

}
