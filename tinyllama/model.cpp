// Checkpoint validation and layout (see model.h and formats.md).
//
// Order of checks: header fields one by one (range), then how they fit together (dims),
// then the Q8 header, then the byte size the config implies against the buffer, and only
// then are pointers formed. Every size is computed in u64 with checked arithmetic.
#include "tinyllama/model.h"

#include <initializer_list>
#include <stdio.h>
#include <string.h>

#include "kernel_lib/base/unaligned.h"
#include "kernel_lib/mem/alloc.h"
#include "tinyllama/gguf/llama_model.h"
#include "tinyllama/ops.h"

namespace tllama {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using kl::read_i32;
using kl::read_u32;

namespace {

ErrorOr<void> check_field(const char* field, i64 value, i64 max)
{
    if (value <= 0 || value > max)
        return Error::make(ErrorCode::ModelHeader, "model header: %s is %lld, expected 1..%lld (is this a llama2.c checkpoint?)",
            field, static_cast<long long>(value), static_cast<long long>(max));
    return {};
}

// Walks the file tensor by tensor; once an addition overflows every result is invalid.
struct Layout {
    u64 offset;
    bool overflow = false;

    // Reserves count * element_bytes bytes and returns where they start.
    u64 take(u64 count, u64 element_bytes)
    {
        u64 bytes = 0;
        u64 start = offset;
        if (!kl::checked_mul(count, element_bytes, bytes) || !kl::checked_add(offset, bytes, offset))
            overflow = true;
        return start;
    }
};

u64 product(u64 a, u64 b)
{
    // Bounded fields (max_* in model.h) keep this far below 2^64; checked all the same.
    u64 ab = 0;
    return kl::checked_mul(a, b, ab) ? ab : ~0ull;
}

// One kind of llama2.c tensor for every layer, stored back to back with a fixed stride
// (fp32: [L][rows][cols] floats; Q8: per layer `rows*cols` int8 values then their scales).
struct MatrixStack {
    const u8* base;       // first layer's values
    u64 stride;           // bytes from one layer's tensor to the next
    u64 scale_offset;     // Q8: bytes from a layer's values to its scales; 0 for fp32
    u32 rows;             // output length d
    u32 cols;             // input length n

    WeightView layer(i32 l) const
    {
        const u8* p = base + static_cast<u64>(l) * stride;
        const float* scales = scale_offset ? reinterpret_cast<const float*>(p + scale_offset) : nullptr;
        return { p, scales, scale_offset ? mjit::Format::Q8G : mjit::Format::F32, rows, cols, stride };
    }
};

// A llama2.c file's tensors, stacked by kind, before they become per-layer views.
struct Stacks {
    MatrixStack embedding, wq, wk, wv, wo, w1, w2, w3, wcls;
    MatrixStack rms_att, rms_ffn, rms_final;  // fp32 vectors: rows 1, cols dim
    MatrixStack rope;                         // fp32: the two obsolete RoPE tables (skipped)
};

ErrorOr<void> check_size(const Layout& layout, u64 size, const Config& c, const char* format)
{
    if (layout.overflow)
        return Error::make(ErrorCode::ModelSize, "model header: the sizes it implies overflow 64 bits");
    if (layout.offset != size)
        return Error::make(ErrorCode::ModelSize,
            "model file is %llu bytes, but its %s header (dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, seq_len %d) "
            "implies %llu bytes%s",
            static_cast<unsigned long long>(size), format, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
            c.vocab_size, c.seq_len, static_cast<unsigned long long>(layout.offset),
            size < layout.offset ? " (truncated?)" : " (trailing data?)");
    return {};
}

// The sizes a tensor's rows and columns are given in; `rope` is the obsolete RoPE tables'
// seq_len * head_size values as one row.
enum class Extent : u8 { one, dim, hidden, kv_dim, vocab, rope };

// One entry of a file's tensor order: which stack, its shape, once or once per layer, and
// whether it is stored as Q8 (int8 values then one fp32 scale per group) or fp32.
struct TensorSlot {
    MatrixStack Stacks::* stack;
    Extent rows, cols;
    bool per_layer, q8;
};

u64 extent(const Config& c, Extent e)
{
    switch (e) {
    case Extent::one: return 1;
    case Extent::dim: return static_cast<u64>(c.dim);
    case Extent::hidden: return static_cast<u64>(c.hidden_dim);
    case Extent::kv_dim: return static_cast<u64>(c.kv_dim());
    case Extent::vocab: return static_cast<u64>(c.vocab_size);
    case Extent::rope: return static_cast<u64>(c.seq_len) * static_cast<u64>(c.head_size());
    }
    return 0;
}

constexpr TensorSlot legacy_order[] = {
    { &Stacks::embedding, Extent::vocab, Extent::dim, false, false },
    { &Stacks::rms_att, Extent::one, Extent::dim, true, false },
    { &Stacks::wq, Extent::dim, Extent::dim, true, false },
    { &Stacks::wk, Extent::kv_dim, Extent::dim, true, false },
    { &Stacks::wv, Extent::kv_dim, Extent::dim, true, false },
    { &Stacks::wo, Extent::dim, Extent::dim, true, false },
    { &Stacks::rms_ffn, Extent::one, Extent::dim, true, false },
    { &Stacks::w1, Extent::hidden, Extent::dim, true, false },
    { &Stacks::w2, Extent::dim, Extent::hidden, true, false },
    { &Stacks::w3, Extent::hidden, Extent::dim, true, false },
    { &Stacks::rms_final, Extent::one, Extent::dim, false, false },
    { &Stacks::rope, Extent::one, Extent::rope, false, false },
    { &Stacks::wcls, Extent::vocab, Extent::dim, false, false },  // only when not shared
};

// Norms in fp32 first, then each matrix as its int8 values followed by its scales.
constexpr TensorSlot q8_order[] = {
    { &Stacks::rms_att, Extent::one, Extent::dim, true, false },
    { &Stacks::rms_ffn, Extent::one, Extent::dim, true, false },
    { &Stacks::rms_final, Extent::one, Extent::dim, false, false },
    { &Stacks::embedding, Extent::vocab, Extent::dim, false, true },
    { &Stacks::wq, Extent::dim, Extent::dim, true, true },
    { &Stacks::wk, Extent::kv_dim, Extent::dim, true, true },
    { &Stacks::wv, Extent::kv_dim, Extent::dim, true, true },
    { &Stacks::wo, Extent::dim, Extent::dim, true, true },
    { &Stacks::w1, Extent::hidden, Extent::dim, true, true },
    { &Stacks::w2, Extent::dim, Extent::hidden, true, true },
    { &Stacks::w3, Extent::hidden, Extent::dim, true, true },
    { &Stacks::wcls, Extent::vocab, Extent::dim, false, true },  // only when not shared
};

// Lays the tensors out from `offset` in the file's order (`gs`: the Q8 group size), checks
// that they end exactly at the file's end, and returns the stacks. A shared classifier
// (always the order's last entry) is the embedding.
ErrorOr<Stacks> lay_out(const TensorSlot* order, usize count, const u8* data, u64 size, const Config& c, u64 offset,
    u64 gs, bool shared, const char* format)
{
    Stacks s {};
    Layout l { offset };
    for (usize i = 0; i < count - (shared ? 1 : 0); ++i) {
        const TensorSlot& t = order[i];
        const u64 rows = extent(c, t.rows), cols = extent(c, t.cols), numel = product(rows, cols);
        const u64 bytes = t.q8 ? numel + numel / gs * sizeof(float) : product(numel, sizeof(float));
        const u64 at = l.take(t.per_layer ? static_cast<u64>(c.n_layers) : 1, bytes);
        s.*t.stack = { data + at, bytes, t.q8 ? numel : 0, static_cast<u32>(rows), static_cast<u32>(cols) };
    }
    TRY(check_size(l, size, c, format));
    if (shared)
        s.wcls = s.embedding;
    return s;
}

// The per-layer views of the stacks (the layer table is allocated).
ErrorOr<TransformerWeights> views_of(const Stacks& s, const Config& c, u32 group_size, bool shared)
{
    const u64 count = static_cast<u64>(c.n_layers);
    auto* layers = static_cast<LayerWeights*>(TRY(kl::mem::allocate(count * sizeof(LayerWeights), 16, "the layer table")));
    for (i32 l = 0; l < c.n_layers; ++l)
        layers[l] = { s.rms_att.layer(l), s.wq.layer(l), s.wk.layer(l), s.wv.layer(l), s.wo.layer(l), s.rms_ffn.layer(l),
            s.w1.layer(l), s.w2.layer(l), s.w3.layer(l) };
    TransformerWeights w {};
    w.group_size = group_size;
    w.shared_classifier = shared;
    w.token_embedding = s.embedding.layer(0);
    w.output_norm = s.rms_final.layer(0);
    w.wcls = s.wcls.layer(0);
    w.layers = layers;
    return w;
}

ErrorOr<Checkpoint> parse_legacy(const u8* data, u64 size)
{
    Config c;
    memcpy(&c, data, sizeof(c));
    // A negative vocab_size marks a separately stored classifier (wcls at the end).
    i64 raw_vocab = c.vocab_size;
    bool shared = raw_vocab > 0;
    TRY(check_field("vocab_size (absolute value)", raw_vocab < 0 ? -raw_vocab : raw_vocab, max_vocab_size));
    c.vocab_size = static_cast<i32>(raw_vocab < 0 ? -raw_vocab : raw_vocab);
    TRY(validate_config(c));

    const Stacks s = TRY(lay_out(legacy_order, kl::array_size(legacy_order), data, size, c, legacy_header_bytes, 1, shared,
        "fp32"));
    Checkpoint cp {};
    cp.config = c;
    cp.rope_theta = llama2c_rope_theta;
    cp.rms_eps = llama2c_rms_epsilon;
    cp.file_bytes = size;
    cp.weight_bytes = size - legacy_header_bytes - s.rope.stride;
    cp.weights = TRY(views_of(s, c, 0, shared));
    return cp;
}

// Index of the first 0x80 (-128) byte in p[0..n), or -1. Eight bytes at a time: x has a
// zero byte exactly where the word had 0x80, and (x - 0x01..01) & ~x & 0x80..80 is
// non-zero iff x has a zero byte.
i64 find_minus_128(const u8* p, u64 n)
{
    constexpr u64 ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    u64 i = 0;
    for (; i + 32 <= n; i += 32) {
        u64 w[4];
        memcpy(w, p + i, sizeof(w));
        u64 hit = 0;
        for (u64 word : w) {
            u64 x = word ^ highs;
            hit |= (x - ones) & ~x & highs;
        }
        if (hit)
            break;
    }
    for (; i < n; ++i) {
        if (p[i] == 0x80)
            return static_cast<i64>(i);
    }
    return -1;
}

// Fast kernels may assume |q| <= 127 (e.g. sign tricks on int8 products); export.py only
// writes [-127, 127], so a -128 means a damaged or foreign file. See tinyllama/README.md.
ErrorOr<void> scan_q8_stack(const MatrixStack& m, const u8* file, i32 layers, const char* name)
{
    const u64 numel = m.scale_offset;
    for (i32 l = 0; l < layers; ++l) {
        const u8* q = m.base + static_cast<u64>(l) * m.stride;
        i64 at = find_minus_128(q, numel);
        if (at >= 0)
            return Error::make(ErrorCode::ModelQ8Header,
                "Q8 weight %s (layer %d) holds -128 at value %lld (file offset %llu); Q8_0 weights must lie in [-127, 127]",
                name, l, static_cast<long long>(at), static_cast<unsigned long long>(q + at - file));
    }
    return {};
}

// The fields of a Q8 header after the magic: version 2, the config, the shared-classifier
// byte and a group size that divides dim and hidden_dim and keeps every tensor's scales
// 4-byte aligned (they are read as floats in place).
struct Q8Header {
    Config config;
    bool shared;
    i32 group_size;
};

ErrorOr<Q8Header> read_q8_header(const u8* data, u64 size)
{
    if (size < q8_header_bytes)
        return Error::make(ErrorCode::ModelSize, "Q8 model file is %llu bytes, shorter than its %u-byte header",
            static_cast<unsigned long long>(size), q8_header_bytes);
    const i32 version = read_i32(data + 4);
    if (version != 2)
        return Error::make(ErrorCode::ModelQ8Header,
            "Q8 model header: version is %d, expected 2 (int8 Q8_0); fp32 models must use the legacy format (export.py --version 0)",
            version);
    Q8Header h;
    Config& c = h.config;
    memcpy(&c, data + 8, sizeof(c));
    TRY(validate_config(c));
    const u8 shared_byte = data[8 + sizeof(Config)];
    const i32 gs = read_i32(data + 8 + sizeof(Config) + 1);
    if (shared_byte > 1)
        return Error::make(ErrorCode::ModelQ8Header, "Q8 model header: shared_classifier is %u, expected 0 or 1", shared_byte);
    if (gs <= 0 || c.dim % gs != 0 || c.hidden_dim % gs != 0)
        return Error::make(ErrorCode::ModelQ8Header,
            "Q8 model header: group_size is %d, expected a positive divisor of dim %d and hidden_dim %d", gs, c.dim, c.hidden_dim);
    // Always true for group sizes >= 4, which export.py picks for any dim % 4 == 0.
    const u64 dim = c.dim, hidden = c.hidden_dim, kv_dim = c.kv_dim(), vocab = c.vocab_size;
    const u64 numels[] = { vocab * dim, dim * dim, kv_dim * dim, hidden * dim };
    for (u64 numel : numels) {
        if (numel % 4 != 0)
            return Error::make(ErrorCode::ModelQ8Header,
                "Q8 model: a tensor of %llu values (group_size %d) leaves its fp32 scales misaligned; re-export with a group size >= 4",
                static_cast<unsigned long long>(numel), gs);
    }
    h.shared = shared_byte == 1;
    h.group_size = gs;
    return h;
}

// No weight byte may be -128 (tinyllama/README.md, "Decisions").
ErrorOr<void> scan_q8_weights(const Stacks& w, bool shared, const u8* data, const Config& c)
{
    TRY(scan_q8_stack(w.embedding, data, 1, "token_embedding"));
    const struct {
        const MatrixStack* m;
        const char* name;
    } stacks[] = { { &w.wq, "wq" }, { &w.wk, "wk" }, { &w.wv, "wv" }, { &w.wo, "wo" }, { &w.w1, "w1" }, { &w.w2, "w2" }, { &w.w3, "w3" } };
    for (const auto& s : stacks)
        TRY(scan_q8_stack(*s.m, data, c.n_layers, s.name));
    if (!shared)
        TRY(scan_q8_stack(w.wcls, data, 1, "wcls"));
    return {};
}

ErrorOr<Checkpoint> parse_q8(const u8* data, u64 size)
{
    const Q8Header header = TRY(read_q8_header(data, size));
    const Stacks stacks = TRY(lay_out(q8_order, kl::array_size(q8_order), data, size, header.config, q8_header_bytes,
        static_cast<u64>(header.group_size), header.shared, "Q8_0"));
    TRY(scan_q8_weights(stacks, header.shared, data, header.config));
    Checkpoint cp {};
    cp.config = header.config;
    cp.rope_theta = llama2c_rope_theta;
    cp.rms_eps = llama2c_rms_epsilon;
    cp.file_bytes = size;
    cp.weight_bytes = size - q8_header_bytes;
    cp.weights = TRY(views_of(stacks, header.config, static_cast<u32>(header.group_size), header.shared));
    return cp;
}

// A GGUF file: the reader, then the llama mapping (tinyllama/gguf). The parsed file is
// kept for the tokenizer and the chat template.
ErrorOr<Checkpoint> parse_gguf(const u8* data, u64 size)
{
    auto* file = static_cast<gguf::File*>(TRY(kl::mem::allocate(sizeof(gguf::File), 16, "the GGUF metadata")));
    *file = {};
    Checkpoint cp {};
    cp.gguf = file;
    auto parsed = gguf::parse(*file, data, size);
    gguf::LlamaModel m {};
    if (!parsed.is_error())
        parsed = gguf::map_llama(m, *file);
    if (parsed.is_error()) {
        free_checkpoint(cp);
        return parsed.release_error();
    }
    cp.config = m.config;
    cp.rope_theta = m.rope_freq_base;
    cp.rms_eps = m.rms_norm_eps;
    cp.file_bytes = size;
    cp.weight_bytes = m.weight_bytes;
    TransformerWeights& w = cp.weights;
    w.group_size = 0;
    w.shared_classifier = m.tied_output;
    w.token_embedding = m.token_embedding;
    w.output_norm = m.output_norm;
    w.wcls = m.output;
    w.layers = m.layers;  // now the checkpoint's
    return cp;
}

}

ErrorOr<void> validate_config(const Config& c)
{
    TRY(check_field("dim", c.dim, max_dim));
    TRY(check_field("hidden_dim", c.hidden_dim, max_hidden_dim));
    TRY(check_field("n_layers", c.n_layers, max_layers));
    TRY(check_field("n_heads", c.n_heads, max_dim));
    TRY(check_field("n_kv_heads", c.n_kv_heads, max_dim));
    TRY(check_field("vocab_size", c.vocab_size, max_vocab_size));
    TRY(check_field("seq_len", c.seq_len, max_seq_len));
    if (c.dim % c.n_heads != 0)
        return Error::make(ErrorCode::ModelDims, "model header: dim %d is not a multiple of n_heads %d", c.dim, c.n_heads);
    if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
        return Error::make(ErrorCode::ModelDims, "model header: n_kv_heads is %d, expected a divisor of n_heads %d",
            c.n_kv_heads, c.n_heads);
    if (c.head_size() % 2 != 0)
        return Error::make(ErrorCode::ModelDims, "model header: head_size dim/n_heads = %d/%d = %d is odd, RoPE needs it even",
            c.dim, c.n_heads, c.head_size());
    // The vocabulary must hold <unk>, <s>, </s> and the 256 byte tokens the tokenizer needs.
    if (c.vocab_size < 259)
        return Error::make(ErrorCode::ModelHeader, "model header: vocab_size is %d, expected at least 259 (3 special + 256 byte tokens)",
            c.vocab_size);
    return {};
}

bool is_gguf(const void* data, u64 size) { return size >= 4 && read_u32(static_cast<const u8*>(data)) == gguf::magic; }

ErrorOr<Checkpoint> parse_checkpoint(const void* data, u64 size)
{
    const u8* bytes = static_cast<const u8*>(data);
    if (reinterpret_cast<uptr>(bytes) % 4 != 0)
        return Error::make(ErrorCode::InvalidArgument, "model buffer at %p is not 4-byte aligned (weights are read in place)", data);
    if (is_gguf(data, size))
        return parse_gguf(bytes, size);
    if (size < legacy_header_bytes)
        return Error::make(ErrorCode::ModelSize, "model file is %llu bytes, shorter than the %u-byte config header",
            static_cast<unsigned long long>(size), legacy_header_bytes);
    if (read_u32(bytes) == q8_magic)
        return parse_q8(bytes, size);
    return parse_legacy(bytes, size);
}

void free_checkpoint(Checkpoint& cp)
{
    if (cp.weights.layers)
        kl::mem::release(cp.weights.layers);
    if (cp.gguf) {
        gguf::free_file(*cp.gguf);
        kl::mem::release(cp.gguf);
    }
    cp.weights.layers = nullptr;
    cp.gguf = nullptr;
}

void describe_tensor_formats(const TransformerWeights& w, i32 layers, char* buffer, usize size)
{
    u32 counts[mjit::format_count] = {};
    auto count = [&](const WeightView& v) { ++counts[static_cast<u32>(v.format)]; };
    count(w.token_embedding);
    count(w.output_norm);
    if (!w.shared_classifier)
        count(w.wcls);
    for (i32 l = 0; l < layers; ++l) {
        const LayerWeights& L = w.layers[l];
        for (const WeightView* v : { &L.attn_norm, &L.wq, &L.wk, &L.wv, &L.wo, &L.ffn_norm, &L.w1, &L.w2, &L.w3 })
            count(*v);
    }
    usize used = 0;
    buffer[0] = 0;
    for (u32 i = 0; i < mjit::format_count && used < size; ++i) {
        if (counts[i] == 0)
            continue;
        const int n = snprintf(buffer + used, size - used, "%s%s %u", used ? ", " : "",
            mjit::format_name(static_cast<mjit::Format>(i)), counts[i]);
        used += n > 0 ? static_cast<usize>(n) : 0;
    }
}

void describe_format(const Checkpoint& cp, char* buffer, usize size)
{
    const TransformerWeights& w = cp.weights;
    const char* classifier = w.shared_classifier ? "shared classifier" : "separate classifier";
    if (cp.gguf) {
        char formats[96];
        describe_tensor_formats(w, cp.config.n_layers, formats, sizeof(formats));
        snprintf(buffer, size, "GGUF (%s), %s", formats, classifier);
    } else if (w.group_size) {
        snprintf(buffer, size, "Q8_0 (group size %u), %s", w.group_size, classifier);
    } else {
        snprintf(buffer, size, "fp32, %s", classifier);
    }
}

}
