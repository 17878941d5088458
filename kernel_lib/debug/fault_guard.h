// Running code that may fault: a CPU exception inside becomes an error for the caller.
//
// The micro-JIT probes instruction sets it cannot test in advance (AVX-512 on CPUs that
// misreport it) and runs freshly generated kernels for the first time under a guard, so a
// #UD, #GP or #PF in them ends that call, not the program. Kernel: the exception handler
// resumes at the guard's return point (exceptions.kernel.cpp, guard.asm). Host: signals
// (SIGILL, SIGSEGV, SIGBUS, SIGFPE) and siglongjmp.
#pragma once

#include "kernel_lib/base/error.h"

namespace kl {

struct Fault {
    u32 vector;      // x86 exception vector (6 = #UD, 13 = #GP, 14 = #PF, ...)
    u64 error_code;
    u64 rip;         // where it happened
    u64 address;     // faulting address for #PF (CR2), 0 otherwise
};

// Runs fn(arg). Returns normally, or a CpuException error naming the exception and its
// address when one ended the call; `fault`, when given, receives the details.
// Guards do not nest (VERIFY).
ErrorOr<void> run_guarded(void (*fn)(void*), void* arg, Fault* fault = nullptr);

// "invalid opcode", "general protection", ... for vectors 0-31; "interrupt" otherwise.
const char* exception_name(u32 vector);
// "#UD", "#GP", ...; "#??" for vectors without a mnemonic.
const char* exception_mnemonic(u32 vector);

}
