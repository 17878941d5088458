// The transformer: RunState allocation, dispatcher slots and the forward pass
// (see transformer.h; numerics in ../shared/docs/formats.md and tinyllama/ops.h).
#include "tinyllama/transformer.h"

#include <initializer_list>
#include <stdio.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/smp/parallel.h"
#include "tinyllama/ops.h"
#include "tinyllama/phases.h"

namespace tllama {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using mjit::Format;

namespace {

constexpr u64 buffer_alignment = 64;  // a cache line, and the widest vector load
// A context shortened to fit the memory keeps at least this many positions.
constexpr i32 min_context = 64;

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

Format activation_of(const WeightView& w) { return mjit::format_info(w.format).activation; }

// The activation formats the model's products need besides fp32, as a bit set.
u32 activation_formats(const Transformer& t)
{
    u32 formats = 0;
    auto note = [&](const WeightView& w) {
        if (activation_of(w) != Format::F32)
            formats |= 1u << static_cast<u32>(activation_of(w));
    };
    note(t.weights.wcls);
    for (i32 l = 0; l < t.config.n_layers; ++l) {
        const LayerWeights& L = t.weights.layers[l];
        for (const WeightView* w : { &L.wq, &L.wk, &L.wv, &L.wo, &L.w1, &L.w2, &L.w3 })
            note(*w);
    }
    return formats;
}

// Lays out every RunState array; returns the bytes needed. KV cache comes last so that
// its size can be reported separately.
u64 carve_run_state(RunState& s, const Transformer& t, i32 prefill_block, u8* block)
{
    const Config& c = t.config;
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
    const u32 formats = activation_formats(t);
    for (u32 f = 0; f < mjit::format_count; ++f) {
        RunState::Converted& v = s.converted[f];
        v = {};
        if (!(formats & (1u << f)))
            continue;
        v.values = carve.take<u8>(rows * mjit::weight_row_bytes(static_cast<Format>(f), widest));
        if (static_cast<Format>(f) == Format::Q8G)
            v.scales = carve.take<float>(rows * widest / t.weights.group_size);
    }
    s.activation_bytes = carve.used;
    const u64 cache_floats = static_cast<u64>(c.n_layers) * c.seq_len * kv_dim;
    s.key_cache = carve.take<float>(cache_floats);
    s.value_cache = carve.take<float>(cache_floats);
    s.kv_cache_bytes = carve.used - s.activation_bytes;
    return carve.used;
}

// "812 KiB" below a MiB, else "12.3 MiB".
void format_size(char* buffer, usize size, u64 bytes)
{
    if (bytes < kl::MiB)
        snprintf(buffer, size, "%llu KiB", static_cast<unsigned long long>((bytes + kl::KiB - 1) / kl::KiB));
    else
        snprintf(buffer, size, "%.1f MiB", static_cast<double>(bytes) / static_cast<double>(kl::MiB));
}

// The RunState's block for the model's context, or for as many positions as the free
// memory holds (at least min_context), said on the console when shortened.
ErrorOr<void*> allocate_run_state(Transformer& t, i32 prefill_block)
{
    const i32 wanted = t.config.seq_len;
    u64 bytes = carve_run_state(t.state, t, prefill_block, nullptr);
    auto block = kl::mem::allocate(bytes, buffer_alignment, "the run state (activations and KV cache)");
    if (!block.is_error() || block.error().code() != ErrorCode::OutOfMemory || wanted <= min_context)
        return block;
    // Bytes per position: the keys and values of every layer, and each head's score.
    const u64 per_position = 2ull * t.config.n_layers * t.config.kv_dim() * 4 + 4ull * t.config.n_heads;
    const u64 fixed = bytes - per_position * static_cast<u64>(wanted);
    const u64 free = kl::mem::available_bytes();
    const u64 room = free > fixed + kl::MiB ? (free - fixed - kl::MiB) / per_position : 0;
    i32 fits = static_cast<i32>(kl::min<u64>(room, static_cast<u64>(wanted - 1))) / 16 * 16;
    while (fits >= min_context) {
        t.config.seq_len = fits;
        bytes = carve_run_state(t.state, t, prefill_block, nullptr);
        auto shorter = kl::mem::allocate(bytes, buffer_alignment, "the run state (activations and KV cache)");
        if (!shorter.is_error()) {
            char size[32];
            format_size(size, sizeof(size), t.state.kv_cache_bytes);
            kl::print("context: the model's %d positions do not fit the free memory; using %d (KV cache %s)\n", wanted,
                fits, size);
            return shorter;
        }
        fits = fits / 2 / 16 * 16;
    }
    t.config.seq_len = wanted;
    return block;
}

// A call of the slot's kernel over all of its shape's rows (the caller sets the buffers).
mjit::KernelArgs whole_slot_args(const mjit::KernelSlot& slot)
{
    mjit::KernelArgs args {};
    args.row_end = slot.shape.d;
    args.n = slot.shape.n;
    args.d = slot.shape.d;
    args.t = slot.shape.t;
    args.gs = slot.shape.gs;
    return args;
}

// The input of one or more matrix products: `tokens` rows of n values, fp32 as they are,
// or converted once into the weights' activation format (each token's row on its own).
struct MatmulInput {
    const void* x;        // [tokens][n] in the activation format
    const float* scale;   // Q8G: [tokens][n / group_size]; null otherwise
};

// x for a product: as it is (fp32 activations), or converted through the product's
// quantizer slot; a conversion of the same vector for another product is reused.
MatmulInput prepare_input(Transformer& t, const float* x, const ProductSlots& slots)
{
    if (!slots.quantize)
        return { x, nullptr };
    RunState& s = t.state;
    RunState::Converted& c = s.converted[static_cast<u32>(slots.quantize->op.format)];
    if (c.source == x && c.stamp == s.stamp)
        return { c.values, c.scales };
    mjit::KernelArgs args = whole_slot_args(*slots.quantize);
    args.x = x;
    args.out = c.values;
    args.out_scale = c.scales;
    mjit::call(*slots.quantize, args);
    c.source = x;
    c.stamp = s.stamp;
    return { c.values, c.scales };
}

// out[t][d] = x[t][n] · W^T through whatever kernel the product's slot holds (a matvec for
// t = 1, a matmul for a prefill block).
void matmul(Transformer& t, const ProductSlots& slots, float* out, const WeightView& w, const float* x)
{
    const MatmulInput in = prepare_input(t, x, slots);
    mjit::KernelArgs args = whole_slot_args(*slots.product);
    args.out = out;
    args.w = w.data;
    args.w_scale = w.scales;
    args.x = in.x;
    args.x_scale = in.scale;
    mjit::call(*slots.product, args);
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

// x = the token's embedding row: fp32 rows are copied through the copy slot, Q8G rows are
// dequantized on use (value = q * scale), block formats through their dequantizer.
void embed(Transformer& t, i32 token, float* x)
{
    const u32 dim = static_cast<u32>(t.config.dim);
    const WeightView& e = t.weights.token_embedding;
    const u8* row = static_cast<const u8*>(e.data) + static_cast<u64>(token) * mjit::weight_row_bytes(e.format, dim);
    if (e.format == Format::F32) {
        mjit::KernelArgs args {};
        args.out = x;
        args.x = row;
        args.row_end = 1;
        args.n = dim * sizeof(float);
        args.d = args.t = 1;
        mjit::call(*t.embedding_copy, args);
        return;
    }
    if (e.format == Format::Q8G) {
        const u32 gs = t.weights.group_size;
        const i8* q = reinterpret_cast<const i8*>(row);
        const float* s = e.scales + static_cast<u64>(token) * dim / gs;
        for (u32 i = 0; i < dim; ++i)
            x[i] = static_cast<float>(q[i]) * s[i / gs];
        return;
    }
    mjit::format_info(e.format).dequantize_row(row, x, dim);
}

// A product's slots for `tokens` tokens per call (1: matvec, more: matmul), verified on the
// weights that first need the shape, and the quantizer of its input.
ProductSlots product_slots(Transformer& t, const WeightView& w, i32 tokens)
{
    mjit::Shape shape;
    shape.n = w.cols;
    shape.d = w.rows;
    shape.t = static_cast<u32>(tokens);
    shape.gs = w.format == Format::Q8G ? t.weights.group_size : 0;
    ProductSlots slots {};
    slots.product = t.dispatcher.slot(mjit::matrix_op(w.format, shape.t), shape, { w.data, w.scales });
    const Format activation = activation_of(w);
    if (activation != Format::F32) {
        mjit::Shape input;
        input.n = w.cols;
        input.gs = shape.gs;
        const u32 block = activation == Format::Q8G ? shape.gs : mjit::format_info(activation).block_values;
        input.d = input.n / block;
        input.t = shape.t;
        slots.quantize = t.dispatcher.slot({ mjit::OpKind::Quantize, activation }, input);
    }
    return slots;
}

// Every slot of one block size (tokens = 1: with the classifier).
BlockSlots block_slots_for(Transformer& t, LayerSlots* layers, i32 tokens)
{
    for (i32 l = 0; l < t.config.n_layers; ++l) {
        const LayerWeights& w = t.weights.layers[l];
        layers[l] = { product_slots(t, w.wq, tokens), product_slots(t, w.wk, tokens), product_slots(t, w.wv, tokens),
            product_slots(t, w.wo, tokens), product_slots(t, w.w1, tokens), product_slots(t, w.w2, tokens),
            product_slots(t, w.w3, tokens) };
    }
    BlockSlots s { layers, {} };
    if (tokens == 1)
        s.wcls = product_slots(t, t.weights.wcls, 1);
    return s;
}

ErrorOr<void> take_slots(Transformer& t)
{
    const u64 layers = static_cast<u64>(t.config.n_layers);
    auto* tables = static_cast<LayerSlots*>(TRY(kl::mem::allocate(2 * layers * sizeof(LayerSlots), 16, "the slot tables")));
    t.slot_tables = tables;
    t.slots = block_slots_for(t, tables, 1);
    if (t.prefill_block)
        t.block_slots = block_slots_for(t, tables + layers, t.prefill_block);
    if (t.weights.token_embedding.format == Format::F32) {
        mjit::Shape row;
        row.n = static_cast<u32>(t.config.dim) * sizeof(float);
        row.d = 1;
        t.embedding_copy = t.dispatcher.slot(mjit::ops::copy, row);
    }
    return {};
}

}

ErrorOr<void> build_transformer(Transformer& t, Checkpoint& cp, i32 prefill_block)
{
    t.model = cp;
    cp = {};  // the transformer owns it now
    t.config = t.model.config;
    t.weights = t.model.weights;
    t.rope_theta = t.model.rope_theta;
    t.rms_eps = t.model.rms_eps;
    t.file_bytes = t.model.file_bytes;
    t.weight_bytes = t.model.weight_bytes;
    // A block longer than the context would never fill.
    t.prefill_block = prefill_block > 1 && prefill_block <= t.config.seq_len ? prefill_block : 0;
    void* block = TRY(allocate_run_state(t, t.prefill_block));
    carve_run_state(t.state, t, t.prefill_block, static_cast<u8*>(block));
    t.state.block = block;
    // The activations start zeroed. The KV cache does not: attention reads only positions
    // already written (pos is VERIFY()ed), and leaving it untouched keeps a large cache's
    // pages from being faulted in (host) or written (kernel) before they are used: for
    // stories110M's 72 MiB cache, zeroing cost more than the whole prompt.
    memset(block, 0, t.state.activation_bytes);
    t.state.stamp = 1;
    rope_frequencies(t.state.rope_freq, t.config.head_size(), t.rope_theta);
    return take_slots(t);
}

ErrorOr<void> build_transformer(Transformer& t, const void* data, u64 size, i32 prefill_block)
{
    Checkpoint cp = TRY(parse_checkpoint(data, size));
    auto built = build_transformer(t, cp, prefill_block);
    if (built.is_error())
        free_transformer(t);
    return built;
}

void free_transformer(Transformer& t)
{
    if (t.state.block)
        kl::mem::release(t.state.block);
    if (t.slot_tables)
        kl::mem::release(t.slot_tables);
    free_checkpoint(t.model);
    t.state = {};
    t.slot_tables = nullptr;
    t.weights.layers = nullptr;
}

namespace {

// The rows of `count` tokens in a [count][width] array.
float* row(float* base, i32 i, i32 width) { return base + static_cast<u64>(i) * width; }

// Attention: q, k, v from the normed stream, RoPE, attend, project, add. The tokens' keys
// and values go straight to their cache rows (pos0 .. pos0 + count - 1 are consecutive rows
// of kv_dim floats: exactly a [count][kv_dim] matmul output).
void attention_block(Transformer& t, const LayerSlots& slot, i32 l, i32 count, i32 pos0)
{
    const Config& c = t.config;
    const LayerWeights& w = t.weights.layers[l];
    RunState& s = t.state;
    const i32 dim = c.dim, kv_dim = c.kv_dim(), head_size = c.head_size();
    const u64 layer_cache = static_cast<u64>(l) * c.seq_len * kv_dim;
    float* k = s.key_cache + layer_cache + static_cast<u64>(pos0) * kv_dim;
    float* v = s.value_cache + layer_cache + static_cast<u64>(pos0) * kv_dim;
    {
        PhaseScope phase(Phase::RmsNorm);
        for (i32 i = 0; i < count; ++i)
            rmsnorm(row(s.xb, i, dim), row(s.x, i, dim), w.attn_norm.f32(), dim, t.rms_eps);
        ++s.stamp;
    }
    matmul(t, slot.wq, s.q, w.wq, s.xb);
    matmul(t, slot.wk, k, w.wk, s.xb);
    matmul(t, slot.wv, v, w.wv, s.xb);
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
        ++s.stamp;
    }
    matmul(t, slot.wo, s.xb2, w.wo, s.xb);
    PhaseScope phase(Phase::Residual);
    accumulate(s.x, s.xb2, count * dim);
}

// Feed-forward: w2(silu(w1 x) * w3 x) on the normed stream, add.
void feed_forward_block(Transformer& t, const LayerSlots& slot, i32 l, i32 count)
{
    const LayerWeights& w = t.weights.layers[l];
    RunState& s = t.state;
    const i32 dim = t.config.dim, hidden = t.config.hidden_dim;
    {
        PhaseScope phase(Phase::RmsNorm);
        for (i32 i = 0; i < count; ++i)
            rmsnorm(row(s.xb, i, dim), row(s.x, i, dim), w.ffn_norm.f32(), dim, t.rms_eps);
        ++s.stamp;
    }
    matmul(t, slot.w1, s.hb, w.w1, s.xb);
    matmul(t, slot.w3, s.hb2, w.w3, s.xb);
    {
        PhaseScope phase(Phase::Swiglu);
        swiglu(s.hb, s.hb2, count * hidden);
        ++s.stamp;
    }
    matmul(t, slot.w2, s.xb2, w.w2, s.hb);
    PhaseScope phase(Phase::Residual);
    accumulate(s.x, s.xb2, count * dim);
}

// `count` tokens (1, or a whole prefill block) at positions pos0, pos0 + 1, ... through every
// layer, row i of the activations holding token i; their keys and values land in the KV
// cache. Leaves the residual stream in s.x.
void run_layers(Transformer& t, const i32* tokens, i32 count, i32 pos0)
{
    const Config& c = t.config;
    RunState& s = t.state;
    const BlockSlots& slots = count == 1 ? t.slots : t.block_slots;
    VERIFY(count >= 1 && count <= s.rows && pos0 >= 0 && pos0 + count <= c.seq_len);
    VERIFY(count == 1 || count == t.prefill_block);
    {
        PhaseScope phase(Phase::Embedding);
        for (i32 i = 0; i < count; ++i) {
            // Out of range, the embedding read would leave its array.
            VERIFY(tokens[i] >= 0 && tokens[i] < c.vocab_size);
            embed(t, tokens[i], row(s.x, i, c.dim));
        }
    }
    for (i32 l = 0; l < c.n_layers; ++l) {
        attention_block(t, slots.layers[l], l, count, pos0);
        feed_forward_block(t, slots.layers[l], l, count);
    }
}

// The next-token logits from one token's residual stream x (normed in place).
float* classify(Transformer& t, float* x)
{
    RunState& s = t.state;
    {
        PhaseScope phase(Phase::RmsNorm);
        rmsnorm(x, x, t.weights.output_norm.f32(), t.config.dim, t.rms_eps);
        ++s.stamp;
    }
    matmul(t, t.slots.wcls, s.logits, t.weights.wcls, x);
    return s.logits;
}

}

float* forward(Transformer& t, i32 token, i32 pos)
{
    run_layers(t, &token, 1, pos);
    return classify(t, t.state.x);
}

float* forward_block(Transformer& t, const i32* tokens, i32 pos0, bool logits)
{
    VERIFY(t.prefill_block > 1);
    run_layers(t, tokens, t.prefill_block, pos0);
    return logits ? classify(t, row(t.state.x, t.prefill_block - 1, t.config.dim)) : nullptr;
}

void set_prefill_block(Transformer& t, i32 block)
{
    if (block <= 1) {
        t.prefill_block = 0;
        return;
    }
    VERIFY(block == t.state.rows && t.block_slots.layers != nullptr);
    t.prefill_block = block;
}

MemoryUse memory_use(const Transformer& t)
{
    return { t.weight_bytes, t.state.activation_bytes, t.state.kv_cache_bytes };
}

void print_model_summary(const Transformer& t, const char* name)
{
    const Config& c = t.config;
    char format[128];
    describe_format(t.model, format, sizeof(format));
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
