// The transformer: RunState allocation, dispatcher slots and the forward pass
// (see transformer.h; numerics in ../shared/docs/formats.md and tinyllama/ops.h).
#include "tinyllama/transformer.h"

#include "microjit/profiler.h"

#include <stdio.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "microjit/reference.h"
#include "tinyllama/ops.h"

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
    Carver carve { block };
    s.x = carve.take<float>(dim);
    s.xb = carve.take<float>(dim);
    s.xb2 = carve.take<float>(dim);
    s.hb = carve.take<float>(hidden);
    s.hb2 = carve.take<float>(hidden);
    s.q = carve.take<float>(dim);
    s.att = carve.take<float>(static_cast<u64>(c.n_heads) * c.seq_len);
    s.logits = carve.take<float>(c.vocab_size);
    s.rope_freq = carve.take<float>(c.head_size() / 2);
    s.rope_cos = carve.take<float>(c.head_size() / 2);
    s.rope_sin = carve.take<float>(c.head_size() / 2);
    s.xq = group_size ? carve.take<i8>(widest) : nullptr;
    s.xq_scale = group_size ? carve.take<float>(widest / group_size) : nullptr;
    const u64 b = prefill_block > 1 ? static_cast<u64>(prefill_block) : 0;
    s.bx = b ? carve.take<float>(b * dim) : nullptr;
    s.bxb = b ? carve.take<float>(b * dim) : nullptr;
    s.bxb2 = b ? carve.take<float>(b * dim) : nullptr;
    s.bq = b ? carve.take<float>(b * dim) : nullptr;
    s.bhb = b ? carve.take<float>(b * hidden) : nullptr;
    s.bhb2 = b ? carve.take<float>(b * hidden) : nullptr;
    s.bxq = b && group_size ? carve.take<i8>(b * widest) : nullptr;
    s.bxq_scale = b && group_size ? carve.take<float>(b * widest / group_size) : nullptr;
    s.activation_bytes = carve.used;
    const u64 cache_floats = static_cast<u64>(c.n_layers) * c.seq_len * kv_dim;
    s.key_cache = carve.take<float>(cache_floats);
    s.value_cache = carve.take<float>(cache_floats);
    s.kv_cache_bytes = carve.used - s.activation_bytes;
    return carve.used;
}

// The input vector of one or more matrix products: fp32 as is, or quantized once.
struct MatmulInput {
    const void* x;        // [n] float, or i8 for Q8
    const float* scale;   // Q8: [n / group_size]; null for fp32
};

MatmulInput prepare_input(Transformer& t, const float* x, i32 n)
{
    if (t.weights.format == WeightFormat::F32)
        return { x, nullptr };
    mjit::PhaseScope phase(mjit::Phase::Quantize);
    mjit::ref::quantize_q8(x, t.state.xq, t.state.xq_scale, static_cast<u32>(n), t.weights.group_size);
    return { t.state.xq, t.state.xq_scale };
}

// out[slot.d] = W · x through whatever kernel the slot currently holds.
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
    args.t = 1;
    args.gs = slot.shape.gs;
    mjit::call(slot, args);
}

// The inputs of a block's matrix products: `tokens` rows of n values, quantized row by row
// for Q8 (each token's vector has its own group scales, exactly as prepare_input would).
MatmulInput prepare_block_input(Transformer& t, const float* x, i32 n, i32 tokens)
{
    if (t.weights.format == WeightFormat::F32)
        return { x, nullptr };
    mjit::PhaseScope phase(mjit::Phase::Quantize);
    const u32 gs = t.weights.group_size;
    for (i32 i = 0; i < tokens; ++i)
        mjit::ref::quantize_q8(x + static_cast<u64>(i) * n, t.state.bxq + static_cast<u64>(i) * n,
            t.state.bxq_scale + static_cast<u64>(i) * n / gs, static_cast<u32>(n), gs);
    return { t.state.bxq, t.state.bxq_scale };
}

// out[tokens][slot.d] = x[tokens][slot.n] · W^T through the slot's matmul kernel.
void matmul_block(mjit::KernelSlot& slot, float* out, MatrixView w, MatmulInput in)
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

// x = the token's embedding row (Q8 rows are dequantized on use: value = q * scale).
void embed(const Transformer& t, i32 token, float* x)
{
    const i32 dim = t.config.dim;
    const MatrixStack& e = t.weights.token_embedding;
    const u64 row = static_cast<u64>(token) * dim;
    if (t.weights.format == WeightFormat::F32) {
        memcpy(x, reinterpret_cast<const float*>(e.base) + row, static_cast<usize>(dim) * sizeof(float));
        return;
    }
    const u32 gs = t.weights.group_size;
    const i8* q = reinterpret_cast<const i8*>(e.base) + row;
    const float* s = reinterpret_cast<const float*>(e.base + e.scale_offset) + row / gs;
    for (i32 i = 0; i < dim; ++i)
        x[i] = static_cast<float>(q[i]) * s[static_cast<u32>(i) / gs];
}

// The slot of a matrix for `tokens` tokens per call (1: matvec, more: matmul).
mjit::KernelSlot* slot_for(Transformer& t, const MatrixStack& m, i32 tokens = 1)
{
    const bool q8 = t.weights.format == WeightFormat::Q8;
    mjit::Shape shape;
    shape.n = m.cols;
    shape.d = m.rows;
    shape.t = static_cast<u32>(tokens);
    shape.gs = q8 ? t.weights.group_size : 0;
    mjit::Op op = tokens > 1 ? (q8 ? mjit::Op::MatmulQ8 : mjit::Op::MatmulF32)
                             : (q8 ? mjit::Op::MatvecQ8 : mjit::Op::MatvecF32);
    return t.dispatcher.slot(op, shape);
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
    // The cache is read only at positions already written, but zeroing it keeps a
    // stray read deterministic instead of reading garbage.
    memset(block, 0, bytes);
    rope_frequencies(t.state.rope_freq, t.config.head_size());

    const TransformerWeights& w = t.weights;
    t.slots.wq = slot_for(t, w.wq);
    t.slots.wk = slot_for(t, w.wk);
    t.slots.wv = slot_for(t, w.wv);
    t.slots.wo = slot_for(t, w.wo);
    t.slots.w1 = slot_for(t, w.w1);
    t.slots.w2 = slot_for(t, w.w2);
    t.slots.w3 = slot_for(t, w.w3);
    t.slots.wcls = slot_for(t, w.wcls);
    if (t.prefill_block) {
        const i32 b = t.prefill_block;
        t.block_slots.wq = slot_for(t, w.wq, b);
        t.block_slots.wk = slot_for(t, w.wk, b);
        t.block_slots.wv = slot_for(t, w.wv, b);
        t.block_slots.wo = slot_for(t, w.wo, b);
        t.block_slots.w1 = slot_for(t, w.w1, b);
        t.block_slots.w2 = slot_for(t, w.w2, b);
        t.block_slots.w3 = slot_for(t, w.w3, b);
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

float* forward(Transformer& t, i32 token, i32 pos)
{
    const Config& c = t.config;
    const TransformerWeights& w = t.weights;
    RunState& s = t.state;
    const MatmulSlots& slot = t.slots;
    const i32 dim = c.dim, kv_dim = c.kv_dim(), hidden = c.hidden_dim, head_size = c.head_size();
    // Out of range, the embedding read and the KV-cache write would leave their arrays.
    VERIFY(token >= 0 && token < c.vocab_size);
    VERIFY(pos >= 0 && pos < c.seq_len);

    {
        mjit::PhaseScope phase(mjit::Phase::Embedding);
        embed(t, token, s.x);
        rope_angles(s.rope_cos, s.rope_sin, s.rope_freq, head_size, pos);
    }

    for (i32 l = 0; l < c.n_layers; ++l) {
        const u64 layer_cache = static_cast<u64>(l) * c.seq_len * kv_dim;
        float* k = s.key_cache + layer_cache + static_cast<u64>(pos) * kv_dim;    // [kv_dim] this token's key
        float* v = s.value_cache + layer_cache + static_cast<u64>(pos) * kv_dim;  // [kv_dim] this token's value

        // Attention: q, k, v from the normed stream, RoPE, attend, project, add.
        {
            mjit::PhaseScope phase(mjit::Phase::RmsNorm);
            rmsnorm(s.xb, s.x, w.rms_att_weight + static_cast<u64>(l) * dim, dim);
        }
        const MatmulInput att_in = prepare_input(t, s.xb, dim);
        matmul(*slot.wq, s.q, w.wq.layer(l), att_in);
        matmul(*slot.wk, k, w.wk.layer(l), att_in);
        matmul(*slot.wv, v, w.wv.layer(l), att_in);
        {
            mjit::PhaseScope phase(mjit::Phase::Rope);
            rope_rotate(s.q, dim, head_size, s.rope_cos, s.rope_sin);
            rope_rotate(k, kv_dim, head_size, s.rope_cos, s.rope_sin);
        }
        {
            mjit::PhaseScope phase(mjit::Phase::Attention);
            attention(s.xb, s.q, s.key_cache + layer_cache, s.value_cache + layer_cache, s.att, c.seq_len, pos,
                c.n_heads, c.n_kv_heads, head_size);
        }
        matmul(*slot.wo, s.xb2, w.wo.layer(l), prepare_input(t, s.xb, dim));
        {
            mjit::PhaseScope phase(mjit::Phase::Residual);
            accumulate(s.x, s.xb2, dim);
        }

        // Feed-forward: w2(silu(w1 x) * w3 x) on the normed stream, add.
        {
            mjit::PhaseScope phase(mjit::Phase::RmsNorm);
            rmsnorm(s.xb, s.x, w.rms_ffn_weight + static_cast<u64>(l) * dim, dim);
        }
        const MatmulInput ffn_in = prepare_input(t, s.xb, dim);
        matmul(*slot.w1, s.hb, w.w1.layer(l), ffn_in);
        matmul(*slot.w3, s.hb2, w.w3.layer(l), ffn_in);
        {
            mjit::PhaseScope phase(mjit::Phase::Swiglu);
            swiglu(s.hb, s.hb2, hidden);
        }
        matmul(*slot.w2, s.xb2, w.w2.layer(l), prepare_input(t, s.hb, hidden));
        {
            mjit::PhaseScope phase(mjit::Phase::Residual);
            accumulate(s.x, s.xb2, dim);
        }
    }

    {
        mjit::PhaseScope phase(mjit::Phase::RmsNorm);
        rmsnorm(s.x, s.x, w.rms_final_weight, dim);
    }
    matmul(*slot.wcls, s.logits, w.wcls.layer(0), prepare_input(t, s.x, dim));
    return s.logits;
}

void forward_block(Transformer& t, const i32* tokens, i32 pos0)
{
    const Config& c = t.config;
    const TransformerWeights& w = t.weights;
    RunState& s = t.state;
    const MatmulSlots& slot = t.block_slots;
    const i32 b = t.prefill_block;
    const i32 dim = c.dim, kv_dim = c.kv_dim(), hidden = c.hidden_dim, head_size = c.head_size();
    VERIFY(b > 1 && pos0 >= 0 && pos0 + b <= c.seq_len);
    auto row = [](float* base, i32 i, i32 width) { return base + static_cast<u64>(i) * width; };

    {
        mjit::PhaseScope phase(mjit::Phase::Embedding);
        for (i32 i = 0; i < b; ++i) {
            VERIFY(tokens[i] >= 0 && tokens[i] < c.vocab_size);
            embed(t, tokens[i], row(s.bx, i, dim));
        }
    }

    for (i32 l = 0; l < c.n_layers; ++l) {
        const u64 layer_cache = static_cast<u64>(l) * c.seq_len * kv_dim;
        // The block's keys and values go straight to their cache rows (pos0 .. pos0 + b - 1
        // are consecutive rows of kv_dim floats: exactly a [b][kv_dim] matmul output).
        float* k = s.key_cache + layer_cache + static_cast<u64>(pos0) * kv_dim;
        float* v = s.value_cache + layer_cache + static_cast<u64>(pos0) * kv_dim;

        {
            mjit::PhaseScope phase(mjit::Phase::RmsNorm);
            for (i32 i = 0; i < b; ++i)
                rmsnorm(row(s.bxb, i, dim), row(s.bx, i, dim), w.rms_att_weight + static_cast<u64>(l) * dim, dim);
        }
        const MatmulInput att_in = prepare_block_input(t, s.bxb, dim, b);
        matmul_block(*slot.wq, s.bq, w.wq.layer(l), att_in);
        matmul_block(*slot.wk, k, w.wk.layer(l), att_in);
        matmul_block(*slot.wv, v, w.wv.layer(l), att_in);
        for (i32 i = 0; i < b; ++i) {
            {
                mjit::PhaseScope phase(mjit::Phase::Rope);
                rope_angles(s.rope_cos, s.rope_sin, s.rope_freq, head_size, pos0 + i);
                rope_rotate(row(s.bq, i, dim), dim, head_size, s.rope_cos, s.rope_sin);
                rope_rotate(row(k, i, kv_dim), kv_dim, head_size, s.rope_cos, s.rope_sin);
            }
        }
        {
            // Causal: token i attends to positions 0 .. pos0 + i, all in the cache by now.
            mjit::PhaseScope phase(mjit::Phase::Attention);
            for (i32 i = 0; i < b; ++i)
                attention(row(s.bxb, i, dim), row(s.bq, i, dim), s.key_cache + layer_cache,
                    s.value_cache + layer_cache, s.att, c.seq_len, pos0 + i, c.n_heads, c.n_kv_heads, head_size);
        }
        matmul_block(*slot.wo, s.bxb2, w.wo.layer(l), prepare_block_input(t, s.bxb, dim, b));
        {
            mjit::PhaseScope phase(mjit::Phase::Residual);
            accumulate(s.bx, s.bxb2, b * dim);
        }

        {
            mjit::PhaseScope phase(mjit::Phase::RmsNorm);
            for (i32 i = 0; i < b; ++i)
                rmsnorm(row(s.bxb, i, dim), row(s.bx, i, dim), w.rms_ffn_weight + static_cast<u64>(l) * dim, dim);
        }
        const MatmulInput ffn_in = prepare_block_input(t, s.bxb, dim, b);
        matmul_block(*slot.w1, s.bhb, w.w1.layer(l), ffn_in);
        matmul_block(*slot.w3, s.bhb2, w.w3.layer(l), ffn_in);
        {
            mjit::PhaseScope phase(mjit::Phase::Swiglu);
            swiglu(s.bhb, s.bhb2, b * hidden);
        }
        matmul_block(*slot.w2, s.bxb2, w.w2.layer(l), prepare_block_input(t, s.bhb, hidden, b));
        {
            mjit::PhaseScope phase(mjit::Phase::Residual);
            accumulate(s.bx, s.bxb2, b * dim);
        }
    }
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
