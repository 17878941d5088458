// Warm start: kernels an earlier run chose, generated and verified before the first token.
//
// The profile (scripts/profile-report --save LOG profile.json, embedded in an image with
// `make image PROFILE=profile.json` as the "profile" payload, or given to the host tool with
// --profile) lists one decision per kernel shape:
//   {"bareflow_profile": 1, "decisions": [
//     {"op": "matvec_f32", "n": 288, "d": 768, "t": 1, "gs": 0,
//      "isa": "avx2", "rows": 4, "tokens": 1, "unroll": 2, "flags": 16, "prefetch": 0}, ...]}
// Each decision whose (op, shape) the model uses is generated and verified on the model's
// own weights with a synthetic input (the tiering layer's check), then published, so the
// first token already runs on it. A decision that cannot be used here (another CPU's ISA,
// a shape this model lacks, a verification failure) is reported and that shape tunes as
// usual.
#pragma once

#include "kernel_lib/base/error.h"
#include "tinyllama/engine_jit.h"
#include "tinyllama/transformer.h"

namespace tllama {

struct WarmStartResult {
    u32 decisions;   // in the profile
    u32 published;   // generated, verified and in use
    u32 skipped;     // not applicable or failed (each printed with its reason)
};

// Parses `text` and applies its decisions to `t`'s slots. A malformed profile is an error
// (InvalidArgument naming the position); unusable decisions are only skipped.
kl::ErrorOr<WarmStartResult> warm_start(Transformer& t, EngineJit& jit, const char* text, usize length);

}
