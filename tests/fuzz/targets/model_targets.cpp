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
using tllama::MatrixStack;
using tllama::WeightFormat;

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

// One stack of `layers` tensors of rows x cols: sizes, placement and alignment.
void check_stack(const char* name, const MatrixStack& m, i32 layers, u32 rows, u32 cols, const Checkpoint& cp,
    const u8* file, u64 size)
{
    const u64 numel = static_cast<u64>(rows) * cols;
    const bool q8 = cp.weights.format == WeightFormat::Q8;
    const u64 per_layer = q8 ? numel + numel / cp.weights.group_size * 4 : numel * 4;
    FUZZ_CHECK(m.rows == rows && m.cols == cols, "%s is %ux%u, expected %ux%u", name, m.rows, m.cols, rows, cols);
    FUZZ_CHECK(m.stride == per_layer, "%s: stride %llu, expected %llu (back to back)", name,
        static_cast<unsigned long long>(m.stride), static_cast<unsigned long long>(per_layer));
    FUZZ_CHECK(m.scale_offset == (q8 ? numel : 0), "%s: scale offset %llu", name, static_cast<unsigned long long>(m.scale_offset));
    const u64 total = per_layer * static_cast<u64>(layers);
    FUZZ_CHECK(inside(m.base, total, file, size), "%s: %llu bytes at offset %lld leave the %llu-byte file", name,
        static_cast<unsigned long long>(total), static_cast<long long>(m.base - file), static_cast<unsigned long long>(size));
    for (i32 l : { 0, layers - 1 }) {
        const auto view = m.layer(l);
        const u8* values = static_cast<const u8*>(view.w);
        volatile u8 sink = values[0];  // ASan: the first and last byte really are readable
        sink = values[numel * (q8 ? 1 : 4) - 1];
        (void)sink;
        if (q8) {
            FUZZ_CHECK(reinterpret_cast<uptr>(view.scale) % 4 == 0, "%s layer %d: scales misaligned", name, l);
            FUZZ_CHECK(inside(view.scale, numel / cp.weights.group_size * 4, file, size), "%s layer %d: scales outside", name, l);
        } else {
            FUZZ_CHECK(view.scale == nullptr && reinterpret_cast<uptr>(values) % 4 == 0, "%s layer %d: bad fp32 view", name, l);
        }
    }
}

void check_floats(const char* name, const float* p, u64 count, const u8* file, u64 size)
{
    FUZZ_CHECK(reinterpret_cast<uptr>(p) % 4 == 0 && inside(p, count * 4, file, size), "%s: %llu floats outside the file",
        name, static_cast<unsigned long long>(count));
}

// Every property of an accepted checkpoint; `header` is the config as the file states it.
void check_accepted(const Checkpoint& cp, const u8* file, u64 size)
{
    const Config& c = cp.config;
    const auto& w = cp.weights;
    FUZZ_CHECK(config_obeys_formats_md(c), "accepted a config that breaks formats.md (dim %d heads %d/%d vocab %d)", c.dim,
        c.n_heads, c.n_kv_heads, c.vocab_size);
    FUZZ_CHECK(cp.file_bytes == size && cp.weight_bytes <= size, "file_bytes/weight_bytes wrong");
    const u128 expected = w.format == WeightFormat::Q8 ? q8_file_size(c, w.shared_classifier, w.group_size)
                                                       : fp32_file_size(c, w.shared_classifier);
    FUZZ_CHECK(expected == size, "accepted a %llu-byte file whose header implies %llu bytes",
        static_cast<unsigned long long>(size), static_cast<unsigned long long>(expected));
    if (w.format == WeightFormat::Q8)
        FUZZ_CHECK(w.group_size > 0 && c.dim % w.group_size == 0 && c.hidden_dim % w.group_size == 0, "bad group size %u",
            w.group_size);
    const u32 dim = c.dim, hidden = c.hidden_dim, kv = c.kv_dim(), vocab = c.vocab_size;
    const i32 L = c.n_layers;
    check_stack("token_embedding", w.token_embedding, 1, vocab, dim, cp, file, size);
    check_stack("wq", w.wq, L, dim, dim, cp, file, size);
    check_stack("wk", w.wk, L, kv, dim, cp, file, size);
    check_stack("wv", w.wv, L, kv, dim, cp, file, size);
    check_stack("wo", w.wo, L, dim, dim, cp, file, size);
    check_stack("w1", w.w1, L, hidden, dim, cp, file, size);
    check_stack("w2", w.w2, L, dim, hidden, cp, file, size);
    check_stack("w3", w.w3, L, hidden, dim, cp, file, size);
    check_stack("wcls", w.wcls, 1, vocab, dim, cp, file, size);
    FUZZ_CHECK((w.wcls.base == w.token_embedding.base) == w.shared_classifier, "shared classifier flag and wcls disagree");
    check_floats("rms_att", w.rms_att_weight, static_cast<u64>(L) * dim, file, size);
    check_floats("rms_ffn", w.rms_ffn_weight, static_cast<u64>(L) * dim, file, size);
    check_floats("rms_final", w.rms_final_weight, dim, file, size);
    char description[64];
    tllama::describe_format(w, description, sizeof(description));
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
    if (accepted)
        check_accepted(result.value(), file, size);
    else
        check_rejected(result.error());
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
