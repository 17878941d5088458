// The unpacker's call into the shared inflater (boot/unpack/unpack.asm), with C linkage so
// the assembly can name it. Built freestanding without SSE, for this stub only.
#include "kernel_lib/util/inflate.h"

extern "C" i64 inflate_entry(const u8* in, usize in_size, u8* out, usize out_capacity)
{
    return kl::inflate_raw(in, in_size, out, out_capacity);
}
