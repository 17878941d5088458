// The transformer: RunState allocation, dispatcher slots and the forward pass
// (see transformer.h; numerics in ../shared/docs/formats.md and tinyllama/ops.h).
#include "tinyllama/transformer.h"

#include <stdio.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/smp/parallel.h"
#include "microjit/reference.h"
#include "tinyllama/ops.h"
#include "tinyllama/phases.h"

namespace tllama {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

constexpr u64 buffer_alignment = 64;  // a cache line, and the widest vector load

// Hands out 64-byte aligned pieces of one block; a first pass with block == nullptr
// only measures.
struct Carver {
    u8* block;
    u64 used = 0;

    template<typename T>
    T* take(u64 count)
    {
        T* p = block ? reinterpret_cast<T*>(block + used) : nullptr;
        used += kl::align_up<u64>(count * sizeof(T), buffer_alignment);
        return p;
    }
};

// Lays out every RunState array; returns the bytes needed. KV cache comes last so that
// its size can be reported separately.
u64 carve_run_state(RunState& s, const Config& c, u32 group_size, i32 prefill_block, u8* block)
{
    const u64 dim = c.dim, hidden = c.hidden_dim, kv_dim = c.kv_dim();
    const u64 widest = kl::max(dim, hidden);
    const u64 rows = prefill_block > 1 ? static_cast<u64>(prefill_block) : 1;
    Carver carve { block };
    s.rows = static_cast<i32>(rows);
    s.x = carve.take<float>(rows * dim);
    s.xb = carve.take<float>(rows * dim);
    s.xb2 = carve.take<float>(rows * dim);
    s.hb = carve.take<float>(rows * hidden);
    s.hb2 = carve.take<float>(rows * hidden);
    s.q = carve.take<float>(rows * dim);
    s.att = carve.take<float>(static_cast<u64>(c.n_heads) * c.seq_len);
    s.logits = carve.take<float>(c.vocab_size);
    s.rope_freq = carve.take<float>(c.head_size() / 2);
    s.rope_cos = carve.take<float>(c.head_size() / 2);
    s.rope_sin = carve.take<float>(c.head_size() / 2);
    s.xq = group_size ? carve.take<i8>(rows * widest) : nullptr;
    s.xq_scale = group_size ? carve.take<float>(rows * widest / group_size) : nullptr;
    s.activation_bytes = carve.used;
    const u64 cache_floats = static_cast<u64>(c.n_layers) * c.seq_len * kv_dim;
    s.key_cache = carve.take<float>(cache_floats);
    s.value_cache = carve.take<float>(cache_floats);
    s.kv_cache_bytes = carve.used - s.activation_bytes;
    return carve.used;
}

// The input of one or more matrix products: `tokens` rows of n values, fp32 as they are,
// or quantized once, row by row (each token's vector has its own group scales).
struct MatmulInput {
    const void* x;        // [tokens][n] float, or i8 for Q8
    const float* scale;   // Q8: [tokens][n / group_size]; null for fp32
};

// The Q8 input of one or more products: the [tokens][n] block quantized once through the
// slot's kernel (consecutive groups of gs values, each with its own scale).
MatmulInput prepare_input(Transformer& t, const float* x, mjit::KernelSlot* quantizer)
{
    if (t.weights.format == WeightFormat::F32)
        return { x, nullptr };
    mjit::KernelArgs args {};
    args.x = x;
    args.out = t.state.xq;
    args.out_scale = t.state.xq_scale;
    args.row_begin = 0;
    args.row_end = quantizer->shape.d;
    args.n = quantizer->shape.n;
    args.d = quantizer->shape.d;
    args.t = quantizer->shape.t;
    args.gs = quantizer->shape.gs;
    mjit::call(*quantizer, args);
    return { t.state.xq, t.state.xq_scale };
}

// out[slot.t][slot.d] = x[slot.t][slot.n] · W^T through whatever kernel the slot holds
// (a matvec for t = 1, a matmul for a prefill block).
void matmul(mjit::KernelSlot& slot, float* out, MatrixView w, MatmulInput in)
{
    mjit::KernelArgs args {};
    args.out = out;
    args.w = w.w;
    args.w_scale = w.scale;
    args.x = in.x;
    args.x_scale = in.scale;
    args.row_begin = 0;
    args.row_end = slot.shape.d;
    args.n = slot.shape.n;
    args.d = slot.shape.d;
    args.t = slot.shape.t;
    args.gs = slot.shape.gs;
    mjit::call(slot, args);
}

// Attention of one token, its heads split across the cores when there is enough work to
// pay for the hand-off (each head is computed whole, by one core, in the same order: the
// result does not depend on the core count).
struct AttentionJob {
    float* out;
    const float* q;
    const float* k_cache;
    const float* v_cache;
    float* att;
    i32 att_stride, pos, n_heads, n_kv_heads, head_size;
};

void attention_range(void* context, u64 begin, u64 end, u32)
{
    const auto& j = *static_cast<const AttentionJob*>(context);
    attention_heads(j.out, j.q, j.k_cache, j.v_cache, j.att, j.att_stride, j.pos, j.n_heads, j.n_kv_heads,
        j.head_size, static_cast<i32>(begin), static_cast<i32>(end));
}

void attend(const Transformer& t, float* out, const float* q, u64 layer_cache, i32 pos)
{
    const Config& c = t.config;
    const RunState& s = t.state;
    AttentionJob job { out, q, s.key_cache + layer_cache, s.value_cache + layer_cache, s.att, c.seq_len, pos,
        c.n_heads, c.n_kv_heads, c.head_size() };
    const u64 macs = 2ull * static_cast<u64>(pos + 1) * static_cast<u64>(c.dim);
    if (kl::smp::worth_splitting(macs))
        kl::smp::parallel_for(static_cast<u64>(c.n_heads), attention_range, &job);
    else
        attention_range(&job, 0, static_cast<u64>(c.n_heads), 0);
}

// x = the token's embedding row: fp32 rows are copied through the copy slot, Q8 rows are
// dequantized on use (value = q * scale).
void embed(Transformer& t, i32 token, float* x)
{
    const i32 dim = t.config.dim;
    const MatrixStack& e = t.weights.token_embedding;
    const u64 row = static_cast<u64>(token) * dim;
    if (t.weights.format == WeightFormat::F32) {
        mjit::KernelArgs args {};
        args.out = x;
        args.x = reinterpret_cast<const float*>(e.base) + row;
        args.row_end = 1;
        args.n = static_cast<u32>(dim) * sizeof(float);
        args.d = args.t = 1;
        mjit::call(*t.embedding_copy, args);
        return;
    }
    const u32 gs = t.weights.group_size;
    const i8* q = reinterpret_cast<const i8*>(e.base) + row;
    const float* s = reinterpret_cast<const float*>(e.base + e.scale_offset) + row / gs;
    for (i32 i = 0; i < dim; ++i)
        x[i] = static_cast<float>(q[i]) * s[static_cast<u32>(i) / gs];
}

mjit::Format weight_format(const Transformer& t)
{
    return t.weights.format == WeightFormat::Q8 ? mjit::Format::Q8G : mjit::Format::F32;
}

// The slot of a matrix for `tokens` tokens per call (1: matvec, more: matmul), verified on
// the first layer's weights.
mjit::KernelSlot* slot_for(Transformer& t, const MatrixStack& m, i32 tokens)
{
    mjit::Shape shape;
    shape.n = m.cols;
    shape.d = m.rows;
    shape.t = static_cast<u32>(tokens);
    shape.gs = t.weights.group_size;
    const MatrixView layer0 = m.layer(0);
    return t.dispatcher.slot(mjit::matrix_op(weight_format(t), shape.t), shape, { layer0.w, layer0.scale });
}

// The Q8 quantizer of [tokens][n] activations (null for fp32 models).
mjit::KernelSlot* quantizer_for(Transformer& t, i32 n, i32 tokens)
{
    if (t.weights.format != WeightFormat::Q8)
        return nullptr;
    mjit::Shape shape;
    shape.n = static_cast<u32>(n);
    shape.gs = t.weights.group_size;
    shape.d = shape.n / shape.gs;
    shape.t = static_cast<u32>(tokens);
    return t.dispatcher.slot(mjit::ops::quantize_q8, shape);
}

// Every slot of one block size (tokens = 1: with the classifier).
MatmulSlots slots_for(Transformer& t, i32 tokens)
{
    const TransformerWeights& w = t.weights;
    MatmulSlots s {};
    s.wq = slot_for(t, w.wq, tokens);
    s.wk = slot_for(t, w.wk, tokens);
    s.wv = slot_for(t, w.wv, tokens);
    s.wo = slot_for(t, w.wo, tokens);
    s.w1 = slot_for(t, w.w1, tokens);
    s.w2 = slot_for(t, w.w2, tokens);
    s.w3 = slot_for(t, w.w3, tokens);
    s.wcls = tokens == 1 ? slot_for(t, w.wcls, 1) : nullptr;
    s.quantize_dim = quantizer_for(t, t.config.dim, tokens);
    s.quantize_hidden = quantizer_for(t, t.config.hidden_dim, tokens);
    return s;
}

// "812 KiB" below a MiB, else "12.3 MiB".
void format_size(char* buffer, usize size, u64 bytes)
{
    if (bytes < kl::MiB)
        snprintf(buffer, size, "%llu KiB", static_cast<unsigned long long>((bytes + kl::KiB - 1) / kl::KiB));
    else
        snprintf(buffer, size, "%.1f MiB", static_cast<double>(bytes) / static_cast<double>(kl::MiB));
}

}

ErrorOr<void> build_transformer(Transformer& t, const Checkpoint& cp, i32 prefill_block)
{
    t.config = cp.config;
    t.weights = cp.weights;
    t.file_bytes = cp.file_bytes;
    t.weight_bytes = cp.weight_bytes;
    // A block longer than the context would never fill.
    t.prefill_block = prefill_block > 1 && prefill_block <= t.config.seq_len ? prefill_block : 0;
    const u64 bytes = carve_run_state(t.state, t.config, t.weights.group_size, t.prefill_block, nullptr);
    void* block = TRY(kl::mem::allocate(bytes, buffer_alignment, "the run state (activations and KV cache)"));
    carve_run_state(t.state, t.config, t.weights.group_size, t.prefill_block, static_cast<u8*>(block));
    t.state.block = block;
    // The activations start zeroed. The KV cache does not: attention reads only positions
    // already written (pos is VERIFY()ed), and leaving it untouched keeps a large cache's
    // pages from being faulted in (host) or written (kernel) before they are used: for
    // stories110M's 72 MiB cache, zeroing cost more than the whole prompt.
    memset(block, 0, t.state.activation_bytes);
    rope_frequencies(t.state.rope_freq, t.config.head_size());

    t.slots = slots_for(t, 1);
    if (t.prefill_block)
        t.block_slots = slots_for(t, t.prefill_block);
    if (t.weights.format == WeightFormat::F32) {
        mjit::Shape row;
        row.n = static_cast<u32>(t.config.dim) * sizeof(float);
        row.d = 1;
        t.embedding_copy = t.dispatcher.slot(mjit::ops::copy, row);
    }
    return {};
}

ErrorOr<void> build_transformer(Transformer& t, const void* data, u64 size, i32 prefill_block)
{
    Checkpoint cp = TRY(parse_checkpoint(data, size));
    return build_transformer(t, cp, prefill_block);
}

void free_transformer(Transformer& t)
{
    if (t.state.block)
        kl::mem::release(t.state.block);
    t.state = {};
}

namespace {

// `count` tokens (1, or a whole prefill block) at positions pos0, pos0 + 1, ... through every
// layer, row i of the activations holding token i; their keys and values land in the KV
// cache. Leaves the residual stream in s.x.
void run_layers(Transformer& t, const i32* tokens, i32 count, i32 pos0)
{
    const Config& c = t.config;
    const TransformerWeights& w = t.weights;
    RunState& s = t.state;
    const MatmulSlots& slot = count == 1 ? t.slots : t.block_slots;
    const i32 dim = c.dim, kv_dim = c.kv_dim(), hidden = c.hidden_dim, head_size = c.head_size();
    VERIFY(count >= 1 && count <= s.rows && pos0 >= 0 && pos0 + count <= c.seq_len);
    VERIFY(count == 1 || count == t.prefill_block);
    auto row = [](float* base, i32 i, i32 width) { return base + static_cast<u64>(i) * width; };

    {
        PhaseScope phase(Phase::Embedding);
        for (i32 i = 0; i < count; ++i) {
            // Out of range, the embedding read would leave its array.
            VERIFY(tokens[i] >= 0 && tokens[i] < c.vocab_size);
            embed(t, tokens[i], row(s.x, i, dim));
        }
    }

    for (i32 l = 0; l < c.n_layers; ++l) {
        const u64 layer_cache = static_cast<u64>(l) * c.seq_len * kv_dim;
        // The tokens' keys and values go straight to their cache rows (pos0 .. pos0 + count - 1
        // are consecutive rows of kv_dim floats: exactly a [count][kv_dim] matmul output).
        float* k = s.key_cache + layer_cache + static_cast<u64>(pos0) * kv_dim;
        float* v = s.value_cache + layer_cache + static_cast<u64>(pos0) * kv_dim;

        // Attention: q, k, v from the normed stream, RoPE, attend, project, add.
        {
            PhaseScope phase(Phase::RmsNorm);
            for (i32 i = 0; i < count; ++i)
                rmsnorm(row(s.xb, i, dim), row(s.x, i, dim), w.rms_att_weight + static_cast<u64>(l) * dim, dim);
        }
        const MatmulInput att_in = prepare_input(t, s.xb, slot.quantize_dim);
        matmul(*slot.wq, s.q, w.wq.layer(l), att_in);
        matmul(*slot.wk, k, w.wk.layer(l), att_in);
        matmul(*slot.wv, v, w.wv.layer(l), att_in);
        {
            PhaseScope phase(Phase::Rope);
            for (i32 i = 0; i < count; ++i) {
                rope_angles(s.rope_cos, s.rope_sin, s.rope_freq, head_size, pos0 + i);
                rope_rotate(row(s.q, i, dim), dim, head_size, s.rope_cos, s.rope_sin);
                rope_rotate(row(k, i, kv_dim), kv_dim, head_size, s.rope_cos, s.rope_sin);
            }
        }
        {
            // Causal: token i attends to positions 0 .. pos0 + i, all in the cache by now.
            PhaseScope phase(Phase::Attention);
            for (i32 i = 0; i < count; ++i)
                attend(t, row(s.xb, i, dim), row(s.q, i, dim), layer_cache, pos0 + i);
        }
        matmul(*slot.wo, s.xb2, w.wo.layer(l), prepare_input(t, s.xb, slot.quantize_dim));
        {
            PhaseScope phase(Phase::Residual);
            accumulate(s.x, s.xb2, count * dim);
        }

        // Feed-forward: w2(silu(w1 x) * w3 x) on the normed stream, add.
        {
            PhaseScope phase(Phase::RmsNorm);
            for (i32 i = 0; i < count; ++i)
                rmsnorm(row(s.xb, i, dim), row(s.x, i, dim), w.rms_ffn_weight + static_cast<u64>(l) * dim, dim);
        }
        const MatmulInput ffn_in = prepare_input(t, s.xb, slot.quantize_dim);
        matmul(*slot.w1, s.hb, w.w1.layer(l), ffn_in);
        matmul(*slot.w3, s.hb2, w.w3.layer(l), ffn_in);
        {
            PhaseScope phase(Phase::Swiglu);
            swiglu(s.hb, s.hb2, count * hidden);
        }
        matmul(*slot.w2, s.xb2, w.w2.layer(l), prepare_input(t, s.hb, slot.quantize_hidden));
        {
            PhaseScope phase(Phase::Residual);
            accumulate(s.x, s.xb2, count * dim);
        }
    }
}

}

float* forward(Transformer& t, i32 token, i32 pos)
{
    RunState& s = t.state;
    run_layers(t, &token, 1, pos);
    {
        PhaseScope phase(Phase::RmsNorm);
        rmsnorm(s.x, s.x, t.weights.rms_final_weight, t.config.dim);
    }
    matmul(*t.slots.wcls, s.logits, t.weights.wcls.layer(0), prepare_input(t, s.x, t.slots.quantize_dim));
    return s.logits;
}

void forward_block(Transformer& t, const i32* tokens, i32 pos0)
{
    VERIFY(t.prefill_block > 1);
    run_layers(t, tokens, t.prefill_block, pos0);
}

void set_prefill_block(Transformer& t, i32 block)
{
    if (block <= 1) {
        t.prefill_block = 0;
        return;
    }
    VERIFY(block == t.state.rows && t.block_slots.wq != nullptr);
    t.prefill_block = block;
}

MemoryUse memory_use(const Transformer& t)
{
    return { t.weight_bytes, t.state.activation_bytes, t.state.kv_cache_bytes };
}

void print_model_summary(const Transformer& t, const char* name)
{
    const Config& c = t.config;
    char format[64];
    describe_format(t.weights, format, sizeof(format));
    kl::print("model %s: dim %d, hidden %d, layers %d, heads %d (kv %d), vocab %d, seq_len %d; %s\n", name, c.dim,
        c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len, format);
    const MemoryUse m = memory_use(t);
    char weights[32], state[32], cache[32];
    format_size(weights, sizeof(weights), m.weights);
    format_size(state, sizeof(state), m.run_state);
    format_size(cache, sizeof(cache), m.kv_cache);
    kl::print("memory: weights %s (in place, not copied), run state %s, KV cache %s\n", weights, state, cache);
}

}
