// Host-only: checkpoints of the well-known shapes filled with deterministic random
// weights, for benchmarks and tests (speed does not depend on the values).
//
// The file is produced in order, chunk by chunk, through a ChunkWriter, so a 4 GB model
// streams to disk in constant memory and a test can collect a small one in memory.
// Values: every matrix uniform in +-1/sqrt(its input length) (so each product keeps its
// output near unit scale and activations stay finite through any depth), norms 1 +- 0.1.
// Legacy fp32 (shared classifier) or Q8_0 "version 2" (group size 64, halved until it
// divides dim and hidden_dim). The weights depend only on the shape and the seed, not on
// seq_len (the legacy RoPE tables, which come last, are written as zeros).
#pragma once

#include "kernel_lib/base/error.h"
#include "tinyllama/model.h"

namespace tllama::tools {

struct ModelShape {
    const char* name;
    Config config;
};

// stories260K, stories15M, stories42M, stories110M, tinyllama-1.1b, tinyllama-mini; null if unknown.
const ModelShape* find_shape(const char* name);
// "stories260K|stories15M|..." for usage messages.
const char* shape_names();

constexpr u64 default_seed = 0x5eed0f0bba5ef10ull;

struct RandomModelSpec {
    Config config;
    bool q8 = false;
    u64 seed = default_seed;
};

u32 q8_group_size(const Config& config);
u64 checkpoint_bytes(const RandomModelSpec& spec);

struct ChunkWriter {
    kl::ErrorOr<void> (*write)(void* context, const void* bytes, usize length);
    void* context;
};

// Writes the whole checkpoint (checkpoint_bytes(spec) bytes) to `out`; stops at the
// writer's first error. Errors: ModelHeader for a shape that fails validation,
// OutOfMemory, or whatever the writer returns.
kl::ErrorOr<void> write_random_checkpoint(const RandomModelSpec& spec, ChunkWriter& out);

}
