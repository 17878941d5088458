// The x86 branch filter in front of the kernel image's compression (kernel_lib/codec/cm.h).
//
// A CALL or JMP rel32 (E8/E9) or a Jcc rel32 (0F 80..8F) stores its target relative to the
// next instruction, so calls to one function differ at every call site. The filter turns
// those displacements into absolute offsets in the image, which repeat byte for byte and
// so compress better (about 4 % smaller on the kernel); the unpacker turns them back.
// Only displacements within +-16 MiB (top byte 00 or FF) are converted, and the result is
// kept in the same form, which is what lets the decoder find them again. Any bytes are
// safe: data that happens to look like a branch is converted and restored like one.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl {

void x86_filter_encode(u8* data, usize size);
void x86_filter_decode(u8* data, usize size);

}
