// The Sampler: picks the next token from the logits (formats.md, "Sampling").
//
// Greedy at temperature 0, else softmax(logits / temperature) and a draw from llama2.c's
// xorshift RNG, either from the whole distribution or from the top-p nucleus, so that a
// seed reproduces the reference implementation's story token for token.
#pragma once

#include "kernel_lib/base/error.h"

namespace tllama {

struct ProbIndex {
    float prob;
    i32 index;
};

struct Sampler {
    i32 vocab_size;
    ProbIndex* probindex;  // [vocab_size] top-p candidates
    ProbIndex* scratch;    // [vocab_size] merge-sort scratch
    float temperature;
    float topp;
    u64 rng_state;
};

// Allocates the top-p buffers (OutOfMemory on failure). seed is used as given (the
// caller turns "0 = time-based" into a real seed).
kl::ErrorOr<void> build_sampler(Sampler& sampler, i32 vocab_size, float temperature, float topp, u64 seed);
void free_sampler(Sampler& sampler);

// Samples from logits[vocab_size] (modified in place when temperature > 0).
i32 sample(Sampler& sampler, float* logits);

// The pieces, exposed for tests.
u32 random_u32(u64* state);
float random_f32(u64* state);  // in [0, 1)
i32 sample_argmax(const float* logits, i32 n);  // lowest index on ties
i32 sample_mult(const float* probs, i32 n, float coin);
i32 sample_topp(const float* probs, i32 n, float topp, ProbIndex* probindex, ProbIndex* scratch, float coin);

}
