// Keeps asmjit's function-frame machinery and the assembler features the micro-JIT never
// uses out of the kernel binary.
//
// x86::Assembler installs prolog/epilog/argument-shuffling helpers when it attaches to a
// CodeHolder (x86emithelper.cpp, with emithelper.cpp and funcargscontext.cpp behind it,
// about 10 KiB). The micro-JIT writes its own prologues and never calls them, so the kernel
// links this empty installer instead of those objects (see ASMJIT_KERNEL_SKIP in the
// Makefile); emitProlog() and friends must not be used in kernel code.
//
// The assembler's vtable also reaches label embedding (embedLabel, embedLabelDelta),
// constant pools, typed data arrays and named labels (with the name hash table behind
// them), none of which the micro-JIT uses: emitter.cpp embeds its constants as raw bytes
// and every label is anonymous. The kernel link points those entries at
// asmjit_unused_in_kernel() (--defsym, ASMJIT_KERNEL_UNUSED in the Makefile), which drops
// about 3.5 KiB of code and tables; a call would be a generator bug and stops the kernel
// with a message that says so.
#include <asmjit/x86.h>

#include "kernel_lib/base/error.h"

namespace asmjit {
inline namespace _abi_1_9 {
namespace x86 {

void assignEmitterFuncs(BaseEmitter* emitter);
void assignEmitterFuncs(BaseEmitter*) {}

}
}
}

extern "C" [[noreturn]] void asmjit_unused_in_kernel();
extern "C" void asmjit_unused_in_kernel()
{
    kl::panic_with(kl::ErrorCode::JitEmit,
        "micro-JIT: a generator called an asmjit feature the kernel leaves out (label embedding, constant pools, data "
        "arrays or named labels; see microjit/asmjit_trim.kernel.cpp)");
}
