// The llama mapping of a GGUF file (see llama_model.h).
#include "tinyllama/gguf/llama_model.h"

#include <stdio.h>
#include <string.h>

#include "kernel_lib/mem/alloc.h"

namespace tllama::gguf {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using mjit::Format;

namespace {

using ull = unsigned long long;

// A hyperparameter in 1..limit.
ErrorOr<i32> dimension(const File& f, const char* key, i32 limit)
{
    const u32 v = TRY(get_u32(f, key));
    if (v == 0 || v > static_cast<u32>(limit))
        return Error::make(ErrorCode::GgufModel, "gguf: %s is %u, expected 1..%d", key, v, limit);
    return static_cast<i32>(v);
}

ErrorOr<void> check_architecture(const File& f)
{
    const StringView arch = TRY(get_string(f, "general.architecture"));
    if (!arch.equals("llama"))
        return Error::make(ErrorCode::GgufModel, "gguf: architecture '%.*s' is not supported; BareFlow runs 'llama' models",
            static_cast<int>(kl::min<u64>(arch.length, 40)), arch.data);
    if (find_key(f, "llama.rope.scaling.type")) {
        const StringView scaling = TRY(get_string(f, "llama.rope.scaling.type"));
        if (!scaling.equals("none"))
            return Error::make(ErrorCode::GgufModel, "gguf: llama.rope.scaling.type '%.*s' is not supported (only 'none')",
                static_cast<int>(kl::min<u64>(scaling.length, 40)), scaling.data);
    }
    return {};
}

ErrorOr<void> read_hyperparameters(LlamaModel& m, const File& f)
{
    Config& c = m.config;
    c.dim = TRY(dimension(f, "llama.embedding_length", max_dim));
    c.hidden_dim = TRY(dimension(f, "llama.feed_forward_length", max_hidden_dim));
    c.n_layers = TRY(dimension(f, "llama.block_count", max_layers));
    c.n_heads = TRY(dimension(f, "llama.attention.head_count", max_dim));
    c.n_kv_heads = find_key(f, "llama.attention.head_count_kv") ? TRY(dimension(f, "llama.attention.head_count_kv", max_dim)) : c.n_heads;
    c.seq_len = TRY(dimension(f, "llama.context_length", max_seq_len));
    if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 || (c.dim / c.n_heads) % 2 != 0)
        return Error::make(ErrorCode::GgufModel,
            "gguf: embedding length %d, %d heads and %d kv heads do not fit together (heads must divide the width into an even "
            "head size, kv heads must divide heads)",
            c.dim, c.n_heads, c.n_kv_heads);
    m.rope_dimensions = TRY(get_u32_or(f, "llama.rope.dimension_count", static_cast<u32>(c.head_size())));
    if (m.rope_dimensions != static_cast<u32>(c.head_size()))
        return Error::make(ErrorCode::GgufModel,
            "gguf: llama.rope.dimension_count is %u but the heads are %d wide: partial rotary embeddings are not supported",
            m.rope_dimensions, c.head_size());
    m.rope_freq_base = TRY(get_f32_or(f, "llama.rope.freq_base", 10000.0f));
    m.rms_norm_eps = TRY(get_f32(f, "llama.attention.layer_norm_rms_epsilon"));
    if (!(m.rope_freq_base > 1.0f && m.rope_freq_base < 1e12f))
        return Error::make(ErrorCode::GgufModel, "gguf: llama.rope.freq_base is %g, expected a number above 1", m.rope_freq_base);
    if (!(m.rms_norm_eps > 0.0f && m.rms_norm_eps < 1.0f))
        return Error::make(ErrorCode::GgufModel, "gguf: llama.attention.layer_norm_rms_epsilon is %g, expected 0 < eps < 1",
            m.rms_norm_eps);
    return {};
}

// The tensor `name`, which must be rows x cols (a vector when rows == 0) and F32 when
// `f32_only`; its data must be aligned for the kernels that read it.
ErrorOr<WeightView> tensor(const File& f, const char* name, u32 rows, u32 cols, bool f32_only)
{
    const TensorInfo* t = find_tensor(f, name);
    if (!t)
        return Error::make(ErrorCode::GgufModel, "gguf: tensor %s is missing", name);
    const bool vector = rows == 0;
    const u64 want_rows = vector ? 1 : rows;
    bool shape_ok = t->dims[0] == cols && t->dims[1] == want_rows && t->dims[2] == 1 && t->dims[3] == 1;
    if (vector)
        shape_ok = shape_ok && t->n_dims == 1;
    if (!shape_ok) {
        if (vector)
            return Error::make(ErrorCode::GgufModel, "tensor %s: shape [%llu, %llu, %llu, %llu], expected the vector [%u]", name,
                static_cast<ull>(t->dims[0]), static_cast<ull>(t->dims[1]), static_cast<ull>(t->dims[2]), static_cast<ull>(t->dims[3]),
                cols);
        return Error::make(ErrorCode::GgufModel, "tensor %s: shape [%llu, %llu, %llu, %llu], expected [%u, %u] (%u rows of %u)", name,
            static_cast<ull>(t->dims[0]), static_cast<ull>(t->dims[1]), static_cast<ull>(t->dims[2]), static_cast<ull>(t->dims[3]), cols,
            rows, rows, cols);
    }
    if (f32_only && t->format != Format::F32)
        return Error::make(ErrorCode::GgufModel, "tensor %s is %s, expected f32 (norm weights are read as fp32)", name,
            mjit::format_name(t->format));
    const u32 align = t->format == Format::F32 ? 4 : 2;
    if (reinterpret_cast<uptr>(t->data) % align != 0)
        return Error::make(ErrorCode::GgufModel, "tensor %s: its data at file offset 0x%llx is not %u-byte aligned (general.alignment %u)",
            name, static_cast<ull>(t->data - f.base), align, f.alignment);
    return WeightView { t->data, nullptr, t->format, static_cast<u32>(want_rows), cols, t->bytes };
}

// The nine tensors of a layer, for loops over all of them.
struct LayerViews {
    const WeightView* items[9];
};

LayerViews views_of(const LayerWeights& w)
{
    return { { &w.attn_norm, &w.wq, &w.wk, &w.wv, &w.wo, &w.ffn_norm, &w.w1, &w.w2, &w.w3 } };
}

ErrorOr<void> map_layer(LayerWeights& w, const File& f, const Config& c, i32 layer)
{
    char name[64];
    auto get = [&](const char* part, u32 rows, u32 cols, bool f32_only) -> ErrorOr<WeightView> {
        snprintf(name, sizeof(name), "blk.%d.%s.weight", layer, part);
        return tensor(f, name, rows, cols, f32_only);
    };
    const u32 dim = static_cast<u32>(c.dim), kv_dim = static_cast<u32>(c.kv_dim()), hidden = static_cast<u32>(c.hidden_dim);
    w.attn_norm = TRY(get("attn_norm", 0, dim, true));
    w.wq = TRY(get("attn_q", dim, dim, false));
    w.wk = TRY(get("attn_k", kv_dim, dim, false));
    w.wv = TRY(get("attn_v", kv_dim, dim, false));
    w.wo = TRY(get("attn_output", dim, dim, false));
    w.ffn_norm = TRY(get("ffn_norm", 0, dim, true));
    w.w1 = TRY(get("ffn_gate", hidden, dim, false));
    w.w2 = TRY(get("ffn_down", dim, hidden, false));
    w.w3 = TRY(get("ffn_up", hidden, dim, false));
    return {};
}

ErrorOr<void> map_weights(LlamaModel& m, const File& f)
{
    Config& c = m.config;
    const TensorInfo* embedding = find_tensor(f, "token_embd.weight");
    if (!embedding)
        return Error::make(ErrorCode::GgufModel, "gguf: tensor token_embd.weight is missing");
    if (embedding->dims[1] < 259 || embedding->dims[1] > static_cast<u64>(max_vocab_size))
        return Error::make(ErrorCode::GgufModel, "tensor token_embd.weight: %llu tokens, expected 259..%d",
            static_cast<ull>(embedding->dims[1]), max_vocab_size);
    c.vocab_size = static_cast<i32>(embedding->dims[1]);
    const u32 dim = static_cast<u32>(c.dim), vocab = static_cast<u32>(c.vocab_size);
    m.token_embedding = TRY(tensor(f, "token_embd.weight", vocab, dim, false));
    m.output_norm = TRY(tensor(f, "output_norm.weight", 0, dim, true));
    m.tied_output = find_tensor(f, "output.weight") == nullptr;
    m.output = m.tied_output ? m.token_embedding : TRY(tensor(f, "output.weight", vocab, dim, false));
    m.weight_bytes = m.token_embedding.bytes + m.output_norm.bytes + (m.tied_output ? 0 : m.output.bytes);
    for (i32 l = 0; l < c.n_layers; ++l) {
        LayerWeights& w = m.layers[l];
        TRY(map_layer(w, f, c, l));
        for (const WeightView* v : views_of(w).items)
            m.weight_bytes += v->bytes;
    }
    return validate_config(c);
}

}

ErrorOr<void> map_llama(LlamaModel& m, const File& f)
{
    m = {};
    TRY(check_architecture(f));
    TRY(read_hyperparameters(m, f));
    m.layers = static_cast<LayerWeights*>(
        TRY(kl::mem::allocate(sizeof(LayerWeights) * static_cast<u64>(m.config.n_layers), 16, "the GGUF layer table")));
    auto result = map_weights(m, f);
    if (result.is_error()) {
        free_llama(m);
        const Error& e = result.error();
        // validate_config's own codes (model.*) become gguf.model: the same check, on a GGUF.
        if (e.code() == ErrorCode::ModelHeader || e.code() == ErrorCode::ModelDims)
            return Error::make(ErrorCode::GgufModel, "gguf: %s", e.message());
        return result;
    }
    return {};
}

void free_llama(LlamaModel& m)
{
    if (m.layers)
        kl::mem::release(m.layers);
    m = {};
}

void describe_formats(const LlamaModel& m, char* buffer, usize size)
{
    TransformerWeights w {};
    w.shared_classifier = m.tied_output;
    w.token_embedding = m.token_embedding;
    w.output_norm = m.output_norm;
    w.wcls = m.output;
    w.layers = m.layers;
    describe_tensor_formats(w, m.config.n_layers, buffer, size);
}

}
