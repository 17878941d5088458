// The inference engine: a parsed model, its RunState and the dispatcher slots of its
// operations, and forward(), which turns (token, position) into next-token logits.
//
// Every matrix product, activation quantization and embedding-row copy goes through
// mjit::call() on a slot obtained once at build time (one per distinct (op, shape)), so
// that tiers of generated kernels can replace the reference kernels behind the same calls.
// For Q8 models each input vector is quantized once and shared by the products that read it.
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/dispatch.h"
#include "tinyllama/model.h"

namespace tllama {

// Activations and the KV cache; one kl::mem::allocate block carved into these arrays.
// The per-token activations have `rows` rows: 1, or the prefill block size, so that a
// block of prompt tokens goes through the layers together (row i = token i).
struct RunState {
    i32 rows;            // tokens the activation arrays hold
    float* x;            // [rows][dim] residual stream
    float* xb;           // [rows][dim] normed input of a block, then the attention output
    float* xb2;          // [rows][dim] output of wo / w2 before the residual add
    float* hb;           // [rows][hidden_dim] w1 output, then silu(w1) * w3
    float* hb2;          // [rows][hidden_dim] w3 output
    float* q;            // [rows][dim] queries
    float* att;          // [n_heads][seq_len] attention scores
    float* logits;       // [vocab_size]
    float* key_cache;    // [n_layers][seq_len][kv_dim]
    float* value_cache;  // [n_layers][seq_len][kv_dim]
    float* rope_freq;    // [head_size / 2] per-pair RoPE frequency
    float* rope_cos;     // [head_size / 2] at the current position
    float* rope_sin;     // [head_size / 2]

    // An input vector converted to an activation format other than fp32 (indexed by the
    // format): [rows][max(dim, hidden_dim)] in that format (Q8G: values, then `scales`),
    // valid for `source` while `stamp` equals the state's stamp.
    struct Converted {
        void* values;
        float* scales;
        const float* source;
        u32 stamp;
    };
    Converted converted[mjit::format_count];
    u32 stamp;           // bumped whenever a layer writes a new input vector

    void* block;         // the allocation behind all of the above
    u64 activation_bytes;
    u64 kv_cache_bytes;
};

// A matrix product's dispatcher slots: the product, and the quantizer of its input unless
// the weights take fp32 activations.
struct ProductSlots {
    mjit::KernelSlot* product;
    mjit::KernelSlot* quantize;
};

struct LayerSlots {
    ProductSlots wq, wk, wv, wo, w1, w2, w3;
};

// The slots of one block size (1 token, or a prefill block). Several layers (and roles)
// share a slot when their op and shape agree: wq/wo both map dim -> dim in one format,
// and every layer of a llama2.c file has the same formats.
struct BlockSlots {
    LayerSlots* layers;   // [n_layers]
    ProductSlots wcls;    // tokens == 1 only
};

// Built in place (the slots point into `dispatcher`), never copied or moved.
struct Transformer {
    Config config {};
    TransformerWeights weights {};
    float rope_theta = 10000.0f;
    float rms_eps = 1e-5f;
    RunState state {};
    mjit::Dispatcher dispatcher;
    BlockSlots slots {};
    i32 prefill_block = 0;      // tokens per prefill block; 0 or 1 = token by token
    BlockSlots block_slots {};  // the slots (t = prefill_block) of a prefill block
    mjit::KernelSlot* embedding_copy = nullptr;  // fp32 embeddings: one row into x
    u64 file_bytes = 0;
    u64 weight_bytes = 0;
    Checkpoint model {};        // owns the layer table and a GGUF file's metadata
    void* slot_tables = nullptr;

    Transformer() = default;
    Transformer(const Transformer&) = delete;
    Transformer& operator=(const Transformer&) = delete;
};

// Tokens per prefill block by default: enough to stream each weight once for 16 tokens,
// small enough for the blocks' activations to stay in the caches.
constexpr i32 default_prefill_block = 16;

// Parses and validates the checkpoint in `data` (kept alive by the caller; see
// parse_checkpoint), allocates the RunState and takes the dispatcher slots.
// `prefill_block` tokens of a prompt go through the layers at once (0 or 1: token by token).
// When the KV cache of the whole context does not fit the free memory, the context is
// shortened to what fits (said on the console). Errors: those of parse_checkpoint,
// OutOfMemory when not even a short context fits.
kl::ErrorOr<void> build_transformer(Transformer& t, const void* data, u64 size,
    i32 prefill_block = default_prefill_block);
// As above from an already parsed checkpoint, which the transformer takes over.
kl::ErrorOr<void> build_transformer(Transformer& t, Checkpoint& checkpoint,
    i32 prefill_block = default_prefill_block);
void free_transformer(Transformer& t);

// Runs one token at position pos (0 <= pos < seq_len, 0 <= token < vocab_size) through
// the model and returns the logits, state.logits [vocab_size].
float* forward(Transformer& t, i32 token, i32 pos);

// Runs t.prefill_block prompt tokens at positions pos0, pos0 + 1, ... through every layer at
// once (matrix-matrix products: each weight is read once for the whole block), filling the
// KV cache exactly as the same number of forward() calls would -- the results are
// bit-identical. With `logits`, returns the last token's logits (forward()'s for it: the
// block ends at the prompt's last token, whose next token is sampled), else nullptr
// (forced tokens need none). Needs pos0 + prefill_block <= seq_len.
float* forward_block(Transformer& t, const i32* tokens, i32 pos0, bool logits = false);

// Turns batched prefill off (0 or 1) or back on (the block size the transformer was built
// with); VERIFY()s that it is one of those.
void set_prefill_block(Transformer& t, i32 block);

struct MemoryUse {
    u64 weights;    // bytes of the checkpoint the weights occupy (views, not copies)
    u64 run_state;  // activations, scores, logits, Q8 buffers
    u64 kv_cache;   // n_layers * seq_len * kv_dim * 2 floats
};
MemoryUse memory_use(const Transformer& t);

// One line each: "model: dim 64, hidden 172, ..." and "memory: weights ..., run state ...".
void print_model_summary(const Transformer& t, const char* name);

}
