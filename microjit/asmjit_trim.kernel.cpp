// Keeps asmjit's function-frame machinery out of the kernel binary.
//
// x86::Assembler installs prolog/epilog/argument-shuffling helpers when it attaches to a
// CodeHolder (x86emithelper.cpp, with emithelper.cpp and funcargscontext.cpp behind it,
// about 10 KiB). The micro-JIT writes its own prologues and never calls them, so the kernel
// links this empty installer instead of those objects (see ASMJIT_KERNEL_SKIP in the
// Makefile); emitProlog() and friends must not be used in kernel code.
#include <asmjit/x86.h>

namespace asmjit {
inline namespace _abi_1_9 {
namespace x86 {

void assignEmitterFuncs(BaseEmitter* emitter);
void assignEmitterFuncs(BaseEmitter*) {}

}
}
}
