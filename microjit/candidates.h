// The autotuning candidates of an (operation, shape, ISA): a handful of configs that vary
// rows/tokens in flight, unroll, prefetch, the variant bits and (on AVX-512 parts) the
// vector width, all valid and runnable on the given caps. The tiering layer times them on
// the real buffers, verifies the winner against the reference, and publishes it.
#pragma once

#include "microjit/kernel_config.h"

namespace mjit {

// Fills `out` (up to `capacity`) and returns how many were written; the first one is the
// a-priori best guess (what to use without tuning). Returns 0 when nothing can be
// generated (the reference kernel stays). `streamed`: the weights come from memory on
// every call even if this matrix alone would fit the caches (see TieringOptions).
usize candidate_configs(Op op, Shape shape, Isa isa, const CpuCaps& caps, KernelConfig* out, usize capacity,
    bool streamed = false);

constexpr usize max_candidates = 32;

}
