// The micro-JIT's front door: turn a KernelConfig into executable code.
//
//   auto k = TRY(mjit::generate(config));   // checks, emits, installs (W^X), names it
//   k.kernel()(&args);                      // every op: mjit::KernelFn (kernel_abi.h)
//   mjit::release(k);                       // when no core can still run it
//
// generate() refuses configs the CPU cannot run (ErrorCode::JitUnsupported): code for an
// ISA the CPU lacks is never placed in executable memory. emit_bytes() assembles any
// valid config into a plain buffer, for dumps and encoding tests on any host.
// Every failure is an Error; the caller keeps the reference kernel (mjit::ref).
// Not thread-safe: generate on one core, publish the pointer (dispatch.h) to the others.
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/exec_memory.h"
#include "microjit/kernel_config.h"

namespace mjit {

struct GeneratedKernel {
    KernelConfig config;
    ExecBlock memory;            // owns the code (sealed RX)
    usize code_size = 0;         // bytes of code and constants at memory.base
    u64 generation_cycles = 0;   // TSC cycles spent emitting and installing
    char name[80] {};            // format_config_name()

    const u8* code() const { return memory.base; }
    KernelFn kernel() const { return reinterpret_cast<KernelFn>(memory.base); }
};

// check_config() plus the generator's own limits (register budget, ...).
kl::ErrorOr<void> validate(const KernelConfig& config);

// Generates, installs and seals a kernel runnable on this CPU (host_caps()).
kl::ErrorOr<GeneratedKernel> generate(const KernelConfig& config);
void release(GeneratedKernel& kernel);

// Assembles `config` (any ISA) into `buffer`; returns the code size. The code is
// position-independent: the bytes are the same wherever they end up.
kl::ErrorOr<usize> emit_bytes(const KernelConfig& config, u8* buffer, usize capacity);

// Dump hook: when set, called with every kernel generate() installs (name, bytes).
using DumpHook = void (*)(void* context, const char* name, const u8* code, usize size);
void set_dump_hook(DumpHook hook, void* context);

// Prints the bytes as hex lines through kl::print, framed so a script can cut them out:
//   @jit-dump NAME SIZE / hex lines of 32 bytes / @jit-dump-end
// Feed the hex to `xxd -r -p` and then `objdump -D -b binary -mi386:x86-64`.
void dump_hex(const char* name, const u8* code, usize size);

}
