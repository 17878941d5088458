// The inference engine: a parsed checkpoint, its RunState and the dispatcher slots of its
// matrix products, and forward(), which turns (token, position) into next-token logits.
//
// Every matrix product goes through mjit::call() on a slot obtained once at build time
// (one per distinct (op, shape)), so that tiers of generated kernels can replace the
// reference kernels behind the same calls. For Q8 models each input vector is quantized
// once (mjit::ref::quantize_q8) and shared by the products that read it.
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/dispatch.h"
#include "tinyllama/model.h"

namespace tllama {

// Activations and the KV cache; one kl::mem::allocate block carved into these arrays.
struct RunState {
    float* x;            // [dim] residual stream
    float* xb;           // [dim] normed input of a block, then the attention output
    float* xb2;          // [dim] output of wo / w2 before the residual add
    float* hb;           // [hidden_dim] w1 output, then silu(w1) * w3
    float* hb2;          // [hidden_dim] w3 output
    float* q;            // [dim] queries of the current token
    float* att;          // [n_heads][seq_len] attention scores
    float* logits;       // [vocab_size]
    float* key_cache;    // [n_layers][seq_len][kv_dim]
    float* value_cache;  // [n_layers][seq_len][kv_dim]
    float* rope_freq;    // [head_size / 2] per-pair RoPE frequency
    float* rope_cos;     // [head_size / 2] at the current position
    float* rope_sin;     // [head_size / 2]
    i8* xq;              // Q8: [max(dim, hidden_dim)] the quantized input vector
    float* xq_scale;     // Q8: [max(dim, hidden_dim) / group_size]

    void* block;         // the allocation behind all of the above
    u64 activation_bytes;
    u64 kv_cache_bytes;
};

// The dispatcher slot of each matrix-product shape the model uses (several roles can
// share a slot: wq/wo both map dim -> dim, wk/wv dim -> kv_dim, w1/w3 dim -> hidden).
struct MatmulSlots {
    mjit::KernelSlot* wq;
    mjit::KernelSlot* wk;
    mjit::KernelSlot* wv;
    mjit::KernelSlot* wo;
    mjit::KernelSlot* w1;
    mjit::KernelSlot* w2;
    mjit::KernelSlot* w3;
    mjit::KernelSlot* wcls;
};

// Built in place (the slots point into `dispatcher`), never copied or moved.
struct Transformer {
    Config config {};
    TransformerWeights weights {};
    RunState state {};
    mjit::Dispatcher dispatcher;
    MatmulSlots slots {};
    u64 file_bytes = 0;
    u64 weight_bytes = 0;

    Transformer() = default;
    Transformer(const Transformer&) = delete;
    Transformer& operator=(const Transformer&) = delete;
};

// Parses and validates the checkpoint in `data` (kept alive by the caller; see
// parse_checkpoint), allocates the RunState and takes the dispatcher slots.
// Errors: those of parse_checkpoint, OutOfMemory for the RunState.
kl::ErrorOr<void> build_transformer(Transformer& t, const void* data, u64 size);
// As above from an already parsed checkpoint.
kl::ErrorOr<void> build_transformer(Transformer& t, const Checkpoint& checkpoint);
void free_transformer(Transformer& t);

// Runs one token at position pos (0 <= pos < seq_len, 0 <= token < vocab_size) through
// the model and returns the logits, state.logits [vocab_size].
float* forward(Transformer& t, i32 token, i32 pos);

struct MemoryUse {
    u64 weights;    // bytes of the checkpoint the weights occupy (views, not copies)
    u64 run_state;  // activations, scores, logits, Q8 buffers
    u64 kv_cache;   // n_layers * seq_len * kv_dim * 2 floats
};
MemoryUse memory_use(const Transformer& t);

// One line each: "model: dim 64, hidden 172, ..." and "memory: weights ..., run state ...".
void print_model_summary(const Transformer& t, const char* name);

}
