// `jit_dump=on` (make dump-jit): every kernel the micro-JIT installs, printed as
//   @jit-dump NAME SIZE / hex lines / @jit-dump-end        (mjit::dump_hex)
// for scripts/dump-jit to cut out and disassemble.
//
// Kernels are generated in the middle of a story, whose text must stay byte for byte
// between @text-begin and @text-end; so the dump hook only copies each kernel's bytes and
// flush_jit_dump() prints them once the story is over. Kernels that were installed before
// the hook (a warm start while the engine was built) are taken from the code cache at the
// first flush, so nothing installed is missed.
#pragma once

#include "tinyllama/kernel_app/story.h"

namespace tllama {

// Installs the copying dump hook (idempotent).
void start_jit_dump();

// Prints every kernel captured since the last flush, and at the first flush the code
// cache's kernels not captured by the hook. Nothing happens unless start_jit_dump() ran.
void flush_jit_dump(Engine& engine);

}
