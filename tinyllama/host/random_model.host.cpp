// Random checkpoints of the well-known shapes (see random_model.h).
#include "tinyllama/host/random_model.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_lib/libm/math.h"

namespace tllama::tools {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

// The shapes table of formats.md, and tinyllama-mini: TinyLlama's proportions in miniature
// (grouped-query attention, rows of whole 256-value K blocks) with tok512.bin's vocabulary,
// small enough for every GGUF type in the QEMU tests.
constexpr ModelShape known_shapes[] = {
    { "stories260K", { 64, 172, 5, 8, 4, 512, 512 } },
    { "stories15M", { 288, 768, 6, 6, 6, 32000, 256 } },
    { "stories42M", { 512, 1376, 8, 8, 8, 32000, 1024 } },
    { "stories110M", { 768, 2048, 12, 12, 12, 32000, 1024 } },
    { "tinyllama-1.1b", { 2048, 5632, 22, 32, 4, 32000, 2048 } },
    { "tinyllama-mini", { 256, 768, 2, 8, 2, 512, 256 } },
};

constexpr usize chunk_bytes = 4 * kl::MiB;

// Buffers the file and hands it to the writer a chunk at a time; the values come from
// one splitmix64 stream, so the file depends only on the seed and the order of calls.
class Emitter {
public:
    Emitter(ChunkWriter& out, u64 seed, u8* buffer) : m_out(out), m_state(seed), m_buffer(buffer) {}

    ErrorOr<void> bytes(const void* data, usize length)
    {
        const u8* p = static_cast<const u8*>(data);
        return produce(length, 1, [&](u8* dest, usize count) {
            memcpy(dest, p, count);
            p += count;
        });
    }

    ErrorOr<void> zeros(u64 length)
    {
        return produce(length, 1, [](u8* dest, usize count) { memset(dest, 0, count); });
    }

    // count floats, uniform in [center - amplitude, center + amplitude).
    ErrorOr<void> uniform_f32(u64 count, float center, float amplitude)
    {
        const float step = amplitude / 2147483648.0f;
        return produce(count, sizeof(float), [&](u8* dest, usize n) {
            for (usize i = 0; i < n; ++i) {
                const float v = center + static_cast<float>(static_cast<i32>(next() >> 32)) * step;
                memcpy(dest + i * sizeof(float), &v, sizeof(v));
            }
        });
    }

    // A Q8_0 tensor: numel int8 values in [-127, 127], then numel / gs scales chosen so
    // that the values span about +-amplitude.
    ErrorOr<void> q8_tensor(u64 numel, u32 gs, float amplitude)
    {
        TRY(produce(numel, 1, [&](u8* dest, usize n) {
            usize i = 0;
            for (; i + 8 <= n; i += 8) {
                const u64 r = next();
                memcpy(dest + i, &r, sizeof(r));
            }
            for (u64 r = next(); i < n; ++i, r >>= 8)
                dest[i] = static_cast<u8>(r);
            for (usize j = 0; j < n; ++j)
                dest[j] = dest[j] == 0x80 ? 0x81 : dest[j];  // -128 -> -127
        }));
        const float base = amplitude / 127.0f;
        return uniform_f32(numel / gs, base * 0.875f, base * 0.125f);
    }

    ErrorOr<void> flush()
    {
        if (m_used > 0)
            TRY(m_out.write(m_out.context, m_buffer, m_used));
        m_used = 0;
        return {};
    }

private:
    u64 next()
    {
        u64 z = (m_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

    // Fills `count` elements of `size` bytes in place, flushing full chunks; an element
    // never straddles two chunks.
    template<typename Fill>
    ErrorOr<void> produce(u64 count, usize size, Fill fill)
    {
        while (count > 0) {
            usize room = (chunk_bytes - m_used) / size;
            if (room == 0) {
                TRY(flush());
                room = chunk_bytes / size;
            }
            const usize n = static_cast<usize>(kl::min<u64>(room, count));
            fill(m_buffer + m_used, n);
            m_used += n * size;
            count -= n;
        }
        return {};
    }

    ChunkWriter& m_out;
    u64 m_state;
    u8* m_buffer;
    usize m_used = 0;
};

float amplitude_for(i32 input_length)
{
    return 1.0f / kl::sqrtf(static_cast<float>(input_length));
}

ErrorOr<void> write_legacy(const Config& c, Emitter& e)
{
    const u64 dim = c.dim, hidden = c.hidden_dim, layers = c.n_layers, kv_dim = c.kv_dim();
    TRY(e.bytes(&c, sizeof(c)));  // positive vocab_size: shared classifier
    TRY(e.uniform_f32(static_cast<u64>(c.vocab_size) * dim, 0.0f, amplitude_for(c.dim)));
    TRY(e.uniform_f32(layers * dim, 1.0f, 0.1f));  // rms_att
    TRY(e.uniform_f32(layers * dim * dim, 0.0f, amplitude_for(c.dim)));  // wq
    TRY(e.uniform_f32(layers * kv_dim * dim, 0.0f, amplitude_for(c.dim)));  // wk
    TRY(e.uniform_f32(layers * kv_dim * dim, 0.0f, amplitude_for(c.dim)));  // wv
    TRY(e.uniform_f32(layers * dim * dim, 0.0f, amplitude_for(c.dim)));  // wo
    TRY(e.uniform_f32(layers * dim, 1.0f, 0.1f));  // rms_ffn
    TRY(e.uniform_f32(layers * hidden * dim, 0.0f, amplitude_for(c.dim)));  // w1
    TRY(e.uniform_f32(layers * dim * hidden, 0.0f, amplitude_for(c.hidden_dim)));  // w2
    TRY(e.uniform_f32(layers * hidden * dim, 0.0f, amplitude_for(c.dim)));  // w3
    TRY(e.uniform_f32(dim, 1.0f, 0.1f));  // rms_final
    // The obsolete RoPE tables (nobody reads them).
    return e.zeros(static_cast<u64>(c.seq_len) * c.head_size() * sizeof(float));
}

ErrorOr<void> write_q8(const Config& c, Emitter& e)
{
    const u32 gs = q8_group_size(c);
    u8 header[q8_header_bytes] = {};
    const u32 magic = q8_magic;
    const i32 version = 2, group_size = static_cast<i32>(gs);
    memcpy(header, &magic, 4);
    memcpy(header + 4, &version, 4);
    memcpy(header + 8, &c, sizeof(c));
    header[8 + sizeof(c)] = 1;  // shared classifier
    memcpy(header + 8 + sizeof(c) + 1, &group_size, 4);
    TRY(e.bytes(header, sizeof(header)));

    const u64 dim = c.dim, hidden = c.hidden_dim, kv_dim = c.kv_dim();
    TRY(e.uniform_f32(static_cast<u64>(c.n_layers) * dim, 1.0f, 0.1f));  // rms_att
    TRY(e.uniform_f32(static_cast<u64>(c.n_layers) * dim, 1.0f, 0.1f));  // rms_ffn
    TRY(e.uniform_f32(dim, 1.0f, 0.1f));  // rms_final
    TRY(e.q8_tensor(static_cast<u64>(c.vocab_size) * dim, gs, amplitude_for(c.dim)));
    const struct {
        u64 rows, cols;
    } matrices[] = { { dim, dim }, { kv_dim, dim }, { kv_dim, dim }, { dim, dim }, { hidden, dim }, { dim, hidden }, { hidden, dim } };
    for (const auto& m : matrices) {
        for (i32 l = 0; l < c.n_layers; ++l)
            TRY(e.q8_tensor(m.rows * m.cols, gs, amplitude_for(static_cast<i32>(m.cols))));
    }
    return {};
}

}

const ModelShape* find_shape(const char* name)
{
    for (const ModelShape& s : known_shapes) {
        if (strcmp(s.name, name) == 0)
            return &s;
    }
    return nullptr;
}

const char* shape_names()
{
    return "stories260K|stories15M|stories42M|stories110M|tinyllama-1.1b|tinyllama-mini";
}

u32 q8_group_size(const Config& c)
{
    u32 gs = 64;
    while (gs > 1 && (c.dim % gs != 0 || c.hidden_dim % gs != 0))
        gs /= 2;
    return gs;
}

u64 checkpoint_bytes(const RandomModelSpec& spec)
{
    const Config& c = spec.config;
    const u64 dim = c.dim, hidden = c.hidden_dim, layers = c.n_layers, kv_dim = c.kv_dim(), vocab = c.vocab_size;
    const u64 per_layer = 2 * dim * dim + 2 * kv_dim * dim + 3 * hidden * dim;
    const u64 numel = vocab * dim + layers * per_layer;
    if (!spec.q8)
        return legacy_header_bytes + 4 * (numel + 2 * layers * dim + dim + static_cast<u64>(c.seq_len) * c.head_size());
    return q8_header_bytes + 4 * (2 * layers * dim + dim) + numel + numel / q8_group_size(c) * 4;
}

ErrorOr<void> write_random_checkpoint(const RandomModelSpec& spec, ChunkWriter& out)
{
    TRY(validate_config(spec.config));
    u8* buffer = static_cast<u8*>(malloc(chunk_bytes));
    if (!buffer)
        return Error::make(ErrorCode::OutOfMemory, "gen-model: no memory for a %zu-byte write buffer", chunk_bytes);
    Emitter e(out, spec.seed, buffer);
    auto result = spec.q8 ? write_q8(spec.config, e) : write_legacy(spec.config, e);
    if (!result.is_error())
        result = e.flush();
    free(buffer);
    return result;
}

}
