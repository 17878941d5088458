// Fuzz target for the GGUF reader, the llama mapping and the GGUF tokenizer.
//
// fuzz_gguf: the input is the whole file. Properties checked on every accepted file:
// the data section and every tensor lie inside the buffer, offsets are aligned and in
// increasing order without overlap, sizes agree with the formats' block sizes, names are
// unique and found again by find_tensor; every key's value lies inside the buffer and
// every string array walks to exactly its end; the typed getters never fail on a value of
// their own type. A mapped llama model's views are tensors of the file with the shapes
// its config implies; a tokenizer built from the file encodes and decodes a short text.
#include <string.h>

#include "microjit/formats.h"
#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"
#include "tinyllama/gguf/gguf.h"
#include "tinyllama/gguf/llama_model.h"
#include "tinyllama/gguf/tokenizer_gguf.h"

using fuzz_support::inside;
using namespace tllama;
using namespace tllama::gguf;

namespace {

using ull = unsigned long long;

void check_values(const File& f, const u8* data, size_t size)
{
    for (u64 i = 0; i < f.kv_count; ++i) {
        const KeyValue& kv = f.kvs[i];
        FUZZ_CHECK(kv.key.length > 0 && inside(reinterpret_cast<const u8*>(kv.key.data), kv.key.length, data, size), "key %llu outside",
            static_cast<ull>(i));
        const Value& v = kv.value;
        FUZZ_CHECK(inside(v.data, v.bytes, data, size), "value of key %llu outside the buffer", static_cast<ull>(i));
        if (v.type == ValueType::Array && v.element == ValueType::String) {
            const u8* cursor = v.data;
            for (u64 k = 0; k < v.count; ++k) {
                const StringView s = next_string(cursor);
                FUZZ_CHECK(inside(reinterpret_cast<const u8*>(s.data), s.length, data, size), "string %llu outside", static_cast<ull>(k));
            }
            FUZZ_CHECK(cursor == v.data + v.bytes, "a string array does not end where its value ends");
        }
        // A getter of the value's own type succeeds.
        char key[80];
        if (kv.key.length < sizeof(key) && !memchr(kv.key.data, 0, kv.key.length)) {
            memcpy(key, kv.key.data, kv.key.length);
            key[kv.key.length] = 0;
            FUZZ_CHECK(find_key(f, key) == &kv, "find_key does not find key %s", key);
            if (v.type == ValueType::String)
                FUZZ_CHECK(!get_string(f, key).is_error(), "get_string(%s) failed", key);
            if (v.type == ValueType::F32 || v.type == ValueType::F64)
                FUZZ_CHECK(!get_f32(f, key).is_error(), "get_f32(%s) failed", key);
            if (v.type == ValueType::Bool)
                FUZZ_CHECK(!get_bool(f, key).is_error(), "get_bool(%s) failed", key);
            if (v.type == ValueType::U8 || v.type == ValueType::U16 || v.type == ValueType::U32)
                FUZZ_CHECK(!get_u32(f, key).is_error(), "get_u32(%s) failed", key);
        }
    }
}

void check_tensors(const File& f, const u8* data, size_t size)
{
    FUZZ_CHECK(f.alignment && (f.alignment & (f.alignment - 1)) == 0, "alignment %u", f.alignment);
    FUZZ_CHECK(f.data_offset <= size && f.data_offset % f.alignment == 0, "data section at %llu", static_cast<ull>(f.data_offset));
    u64 end = 0;
    for (u64 i = 0; i < f.tensor_count; ++i) {
        const TensorInfo& t = f.tensors[i];
        FUZZ_CHECK(t.offset % f.alignment == 0 && t.offset >= end, "tensor %llu offset %llu", static_cast<ull>(i), static_cast<ull>(t.offset));
        FUZZ_CHECK(t.data == data + f.data_offset + t.offset && inside(t.data, t.bytes, data, size), "tensor %llu outside",
            static_cast<ull>(i));
        u64 rows = 1;
        for (u32 d = 1; d < max_dims; ++d)
            rows *= t.dims[d];
        const auto expected = mjit::matrix_bytes(t.format, rows, t.dims[0]);
        FUZZ_CHECK(!expected.is_error() && expected.value() == t.bytes, "tensor %llu has %llu bytes", static_cast<ull>(i),
            static_cast<ull>(t.bytes));
        end = t.offset + t.bytes;
        char name[max_name_length + 1];
        memcpy(name, t.name.data, t.name.length);
        name[t.name.length] = 0;
        if (!memchr(name, 0, t.name.length))
            FUZZ_CHECK(find_tensor(f, name) == &t, "find_tensor does not find tensor %s", name);
    }
}

void check_view(const WeightView& v, u32 rows, u32 cols, const u8* data, size_t size)
{
    FUZZ_CHECK(v.rows == rows && v.cols == cols, "a view is %ux%u, expected %ux%u", v.rows, v.cols, rows, cols);
    FUZZ_CHECK(inside(static_cast<const u8*>(v.data), v.bytes, data, size), "a view leaves the buffer");
    FUZZ_CHECK(v.bytes == mjit::matrix_bytes(v.format, rows, cols).value(), "a view's size");
}

void check_model(const LlamaModel& m, const u8* data, size_t size)
{
    const Config& c = m.config;
    const u32 dim = c.dim, kv = c.kv_dim(), hidden = c.hidden_dim;
    check_view(m.token_embedding, c.vocab_size, dim, data, size);
    check_view(m.output, c.vocab_size, dim, data, size);
    check_view(m.output_norm, 1, dim, data, size);
    for (i32 l = 0; l < c.n_layers; ++l) {
        const LayerWeights& w = m.layers[l];
        check_view(w.attn_norm, 1, dim, data, size);
        check_view(w.wq, dim, dim, data, size);
        check_view(w.wk, kv, dim, data, size);
        check_view(w.wv, kv, dim, data, size);
        check_view(w.wo, dim, dim, data, size);
        check_view(w.ffn_norm, 1, dim, data, size);
        check_view(w.w1, hidden, dim, data, size);
        check_view(w.w2, dim, hidden, data, size);
        check_view(w.w3, hidden, dim, data, size);
    }
}

void check_tokenizer(const File& f, i32 vocab_size)
{
    Tokenizer t {};
    if (build_tokenizer_gguf(t, f, vocab_size).is_error())
        return;
    const char text[] = "Once upon a time, \xe2\x96\x81 <s> caf\xc3\xa9";
    i32 tokens[64];
    auto n = encode(t, text, sizeof(text) - 1, true, false, tokens, 64);
    FUZZ_CHECK(!n.is_error(), "encode failed on an accepted tokenizer");
    for (u32 i = 0; !n.is_error() && i < n.value(); ++i) {
        FUZZ_CHECK(tokens[i] >= 0 && tokens[i] < vocab_size, "token %d out of range", tokens[i]);
        decode(t, i ? tokens[i - 1] : t.bos_id, tokens[i]);
    }
    free_tokenizer(t);
}

}

int fuzz_gguf(const u8* data, size_t size)
{
    File f {};
    if (parse(f, data, size).is_error())
        return 0;
    check_values(f, data, size);
    check_tensors(f, data, size);
    LlamaModel m {};
    if (!map_llama(m, f).is_error()) {
        check_model(m, data, size);
        check_tokenizer(f, m.config.vocab_size);
        free_llama(m);
    }
    free_file(f);
    return 0;
}
