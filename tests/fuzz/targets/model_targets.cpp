// Fuzz targets for the checkpoint parser (tllama::parse_checkpoint).
//
// fuzz_model: the input is the whole file, fp32 legacy or Q8 v2. fuzz_q8_header: the input's
// first 256 bytes are a Q8 header, and the target appends a body of the size that header
// implies (computed here, independently of model.cpp), so that mutations of the header
// reach the layout and the -128 scan instead of stopping at the size check:
//   [0, 256)  the header          [256]  body: 0 exact size, 1 a few bytes short,
//   [257]     fill byte (0x80 is       2 four bytes long, 3 the input's bytes from 259 on
//             never used as fill)  [258]  bit 0: plant one -128 byte in the body
// Properties checked on every accepted file: the size is the one formats.md implies, every
// weight view lies inside the buffer with its floats 4-byte aligned, tensors are back to
// back; and an exact-size Q8 file whose header obeys formats.md (and holds no -128) is
// accepted.
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"
#include "tinyllama/model.h"

using fuzz_support::byte_or_zero;
using fuzz_support::inside;
using tllama::Checkpoint;
using tllama::Config;
using tllama::WeightView;

namespace {

using u128 = unsigned __int128;

// formats.md's validity rules for the seven config ints, written out again here.
bool config_obeys_formats_md(const Config& c)
{
    const i32 fields[] = { c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len };
    const i32 limits[] = { tllama::max_dim, tllama::max_hidden_dim, tllama::max_layers, tllama::max_dim, tllama::max_dim,
        tllama::max_vocab_size, tllama::max_seq_len };
    for (size_t i = 0; i < 7; ++i) {
        if (fields[i] <= 0 || fields[i] > limits[i])
            return false;
    }
    return c.dim % c.n_heads == 0 && c.n_kv_heads <= c.n_heads && c.n_heads % c.n_kv_heads == 0 &&
        (c.dim / c.n_heads) % 2 == 0 && c.vocab_size >= 259;
}

// The file size a config implies (formats.md), in 128 bits so nothing wraps.
u128 fp32_file_size(const Config& c, bool shared)
{
    const u128 dim = c.dim, hidden = c.hidden_dim, L = c.n_layers, vocab = c.vocab_size;
    const u128 kv_dim = dim / c.n_heads * c.n_kv_heads, head_size = dim / c.n_heads;
    const u128 floats = vocab * dim + 2 * L * dim + 2 * L * dim * dim + 2 * L * kv_dim * dim + 3 * L * hidden * dim +
        dim + c.seq_len * head_size + (shared ? 0 : vocab * dim);
    return 28 + 4 * floats;
}

u128 q8_file_size(const Config& c, bool shared, u32 gs)
{
    const u128 dim = c.dim, hidden = c.hidden_dim, L = c.n_layers, vocab = c.vocab_size;
    const u128 kv_dim = dim / c.n_heads * c.n_kv_heads;
    auto q = [gs](u128 numel) { return numel + numel / gs * 4; };
    return 256 + 4 * (2 * L * dim + dim) + q(vocab * dim) + L * (2 * q(dim * dim) + 2 * q(kv_dim * dim) + 3 * q(hidden * dim)) +
        (shared ? 0 : q(vocab * dim));
}

// What a tensor is: a norm's weights stay fp32 in a Q8 file, its matrices are Q8G (even a
// matrix of one row: hidden_dim may be 1).
enum class Kind { norm, matrix };

// One tensor of rows x cols: shape, format, placement and alignment; `previous` is the
// same tensor of the layer before (llama2.c stores a kind's layers back to back).
void check_view(const char* name, i32 layer, const WeightView& v, const WeightView* previous, u32 rows, u32 cols,
    Kind kind, const Checkpoint& cp, const u8* file, u64 size)
{
    const u64 numel = static_cast<u64>(rows) * cols;
    const bool q8 = cp.weights.group_size != 0 && kind == Kind::matrix;
    const u64 bytes = q8 ? numel + numel / cp.weights.group_size * 4 : numel * 4;
    FUZZ_CHECK(v.rows == rows && v.cols == cols, "%s layer %d is %ux%u, expected %ux%u", name, layer, v.rows, v.cols, rows, cols);
    FUZZ_CHECK(v.format == (q8 ? mjit::Format::Q8G : mjit::Format::F32), "%s layer %d: format %u", name, layer,
        static_cast<unsigned>(v.format));
    FUZZ_CHECK(v.bytes == bytes, "%s layer %d: %llu bytes, expected %llu", name, layer,
        static_cast<unsigned long long>(v.bytes), static_cast<unsigned long long>(bytes));
    const u8* values = static_cast<const u8*>(v.data);
    FUZZ_CHECK(inside(values, bytes, file, size), "%s layer %d: %llu bytes at offset %lld leave the %llu-byte file", name, layer,
        static_cast<unsigned long long>(bytes), static_cast<long long>(values - file), static_cast<unsigned long long>(size));
    if (previous)
        FUZZ_CHECK(values == static_cast<const u8*>(previous->data) + bytes, "%s layer %d: not right after layer %d", name,
            layer, layer - 1);
    volatile u8 sink = values[0];  // ASan: the first and last byte really are readable
    sink = values[numel * (q8 ? 1 : 4) - 1];
    (void)sink;
    if (q8) {
        FUZZ_CHECK(reinterpret_cast<const u8*>(v.scales) == values + numel, "%s layer %d: scales not after the values", name,
            layer);
        FUZZ_CHECK(reinterpret_cast<uptr>(v.scales) % 4 == 0, "%s layer %d: scales misaligned", name, layer);
    } else {
        FUZZ_CHECK(v.scales == nullptr && reinterpret_cast<uptr>(values) % 4 == 0, "%s layer %d: bad fp32 view", name, layer);
    }
}

// Every property of an accepted checkpoint; `header` is the config as the file states it.
void check_accepted(const Checkpoint& cp, const u8* file, u64 size)
{
    const Config& c = cp.config;
    const auto& w = cp.weights;
    FUZZ_CHECK(config_obeys_formats_md(c), "accepted a config that breaks formats.md (dim %d heads %d/%d vocab %d)", c.dim,
        c.n_heads, c.n_kv_heads, c.vocab_size);
    FUZZ_CHECK(cp.file_bytes == size && cp.weight_bytes <= size, "file_bytes/weight_bytes wrong");
    const u128 expected = w.group_size ? q8_file_size(c, w.shared_classifier, w.group_size) : fp32_file_size(c, w.shared_classifier);
    FUZZ_CHECK(expected == size, "accepted a %llu-byte file whose header implies %llu bytes",
        static_cast<unsigned long long>(size), static_cast<unsigned long long>(expected));
    if (w.group_size)
        FUZZ_CHECK(c.dim % w.group_size == 0 && c.hidden_dim % w.group_size == 0, "bad group size %u", w.group_size);
    const u32 dim = c.dim, hidden = c.hidden_dim, kv = c.kv_dim(), vocab = c.vocab_size;
    check_view("token_embedding", 0, w.token_embedding, nullptr, vocab, dim, Kind::matrix, cp, file, size);
    check_view("wcls", 0, w.wcls, nullptr, vocab, dim, Kind::matrix, cp, file, size);
    check_view("rms_final", 0, w.output_norm, nullptr, 1, dim, Kind::norm, cp, file, size);
    FUZZ_CHECK((w.wcls.data == w.token_embedding.data) == w.shared_classifier, "shared classifier flag and wcls disagree");
    for (i32 l = 0; l < c.n_layers; ++l) {
        const tllama::LayerWeights& L = w.layers[l];
        const tllama::LayerWeights* P = l ? &w.layers[l - 1] : nullptr;
        check_view("rms_att", l, L.attn_norm, P ? &P->attn_norm : nullptr, 1, dim, Kind::norm, cp, file, size);
        check_view("rms_ffn", l, L.ffn_norm, P ? &P->ffn_norm : nullptr, 1, dim, Kind::norm, cp, file, size);
        check_view("wq", l, L.wq, P ? &P->wq : nullptr, dim, dim, Kind::matrix, cp, file, size);
        check_view("wk", l, L.wk, P ? &P->wk : nullptr, kv, dim, Kind::matrix, cp, file, size);
        check_view("wv", l, L.wv, P ? &P->wv : nullptr, kv, dim, Kind::matrix, cp, file, size);
        check_view("wo", l, L.wo, P ? &P->wo : nullptr, dim, dim, Kind::matrix, cp, file, size);
        check_view("w1", l, L.w1, P ? &P->w1 : nullptr, hidden, dim, Kind::matrix, cp, file, size);
        check_view("w2", l, L.w2, P ? &P->w2 : nullptr, dim, hidden, Kind::matrix, cp, file, size);
        check_view("w3", l, L.w3, P ? &P->w3 : nullptr, hidden, dim, Kind::matrix, cp, file, size);
    }
    char description[128];
    tllama::describe_format(cp, description, sizeof(description));
}

void check_rejected(const kl::Error& e)
{
    using kl::ErrorCode;
    const ErrorCode code = e.code();
    FUZZ_CHECK(code == ErrorCode::ModelHeader || code == ErrorCode::ModelSize || code == ErrorCode::ModelDims ||
            code == ErrorCode::ModelQ8Header,
        "unexpected error %s: %s", e.code_name(), e.message());
    FUZZ_CHECK(e.message()[0] != 0, "error %s without a message", e.code_name());
}

// Parses a copy of the `size` bytes; returns whether they were accepted. The copy is a
// malloc block of exactly `size` bytes: aligned for the floats read in place (malloc
// aligns to 16), and ASan reports any read past its end.
bool parse_and_check(const u8* bytes, size_t size)
{
    u8* file = static_cast<u8*>(malloc(size ? size : 1));
    if (size)
        memcpy(file, bytes, size);
    auto result = tllama::parse_checkpoint(file, size);
    bool accepted = !result.is_error();
    // A file with GGUF's magic goes to the GGUF reader, which the gguf target checks.
    const bool gguf = tllama::is_gguf(file, size);
    if (accepted && !gguf)
        check_accepted(result.value(), file, size);
    else if (!accepted && !gguf)
        check_rejected(result.error());
    if (accepted)
        tllama::free_checkpoint(result.value());
    free(file);
    return accepted;
}

constexpr u64 max_generated_body = 1 << 20;

}

int fuzz_model(const u8* data, size_t size)
{
    parse_and_check(data, size);
    return 0;
}

int fuzz_q8_header(const u8* data, size_t size)
{
    u8 header[tllama::q8_header_bytes] = {};
    if (size)  // data may be null when size is 0 (the replay of an empty input)
        memcpy(header, data, size < sizeof(header) ? size : sizeof(header));
    const u8 body_mode = byte_or_zero(data, size, 256) % 4;
    u8 fill = byte_or_zero(data, size, 257);
    if (fill == 0x80)
        fill = 0x7F;
    const bool plant_minus_128 = byte_or_zero(data, size, 258) & 1;

    // What the header implies, if it obeys formats.md and is small enough to build.
    Config c;
    memcpy(&c, header + 8, sizeof(c));
    i32 gs;
    memcpy(&gs, header + 8 + sizeof(c) + 1, sizeof(gs));
    const u8 shared = header[8 + sizeof(c)];
    u32 magic, version;
    memcpy(&magic, header, 4);
    memcpy(&version, header + 4, 4);
    bool valid = magic == tllama::q8_magic && version == 2 && config_obeys_formats_md(c) && shared <= 1 && gs > 0 &&
        c.dim % gs == 0 && c.hidden_dim % gs == 0;
    u128 implied = 0;
    if (valid) {
        // Scales are read in place: every tensor's value count keeps them 4-byte aligned.
        const u64 kv_dim = static_cast<u64>(c.dim) / c.n_heads * c.n_kv_heads;
        for (u64 numel : { static_cast<u64>(c.vocab_size) * c.dim, static_cast<u64>(c.dim) * c.dim, kv_dim * c.dim,
                 static_cast<u64>(c.hidden_dim) * c.dim })
            valid = valid && numel % 4 == 0;
        implied = q8_file_size(c, shared == 1, static_cast<u32>(gs));
    }
    std::vector<u8> file(header, header + sizeof(header));
    const bool generated = valid && body_mode != 3 && implied <= sizeof(header) + max_generated_body;
    if (generated) {
        u64 body = static_cast<u64>(implied) - sizeof(header);
        if (body_mode == 1)
            body -= kl::min<u64>(body, 1 + fill % 61);
        else if (body_mode == 2)
            body += 4;
        file.resize(sizeof(header) + body, fill);
        if (plant_minus_128 && body > 0)
            file[sizeof(header) + (static_cast<u64>(fill) * 7919 + byte_or_zero(data, size, 259)) % body] = 0x80;
    } else if (size > 259) {
        file.insert(file.end(), data + 259, data + size);
    }
    const bool accepted = parse_and_check(file.data(), file.size());
    // The converse: an exact, well-formed file with no -128 byte must be accepted. (A
    // planted -128 may land in a norm or a scale, where it is a legitimate float byte.)
    if (generated && body_mode == 0 && !plant_minus_128)
        FUZZ_CHECK(accepted, "refused a well-formed Q8 file of %zu bytes (dim %d hidden %d layers %d heads %d/%d vocab %d gs %d)",
            file.size(), c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, gs);
    if (generated && body_mode != 0)
        FUZZ_CHECK(!accepted, "accepted a Q8 file of the wrong size (%zu bytes)", file.size());
    return 0;
}
