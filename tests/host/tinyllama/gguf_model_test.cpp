// The llama mapping of GGUF files (hyperparameters, tensor views, shapes and formats,
// the Q4_K_M mix), the tokenizer from the file against tokenizer.bin, and gen-model's
// converter from a llama2.c checkpoint.
#include <catch2/catch.hpp>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "tests/host/tinyllama/gguf_fixtures.h"
#include "tests/host/tinyllama/model_fixtures.h"
#include "tests/host/tinyllama/reference_encodings.h"
#include "tinyllama/gguf/tokenizer_gguf.h"

using namespace tllama;
using namespace tllama::test;
using kl::ErrorCode;
using mjit::Format;

namespace {

std::string map_error(const std::vector<u8>& bytes, ErrorCode* code = nullptr)
{
    ParsedGguf p(bytes);
    gguf::LlamaModel m {};
    auto mapped = gguf::map_llama(m, p.file);
    gguf::free_llama(m);
    if (!mapped.is_error())
        return "";
    if (code)
        *code = mapped.error().code();
    return mapped.error().message();
}

void check_map_refused(const std::vector<u8>& bytes, ErrorCode code, const std::string& words)
{
    ErrorCode got = ErrorCode::Ok;
    const std::string message = map_error(bytes, &got);
    INFO("message: " << message);
    CHECK(got == code);
    CHECK(message.find(words) != std::string::npos);
}

// A file whose writer got one more key (or a different value) than gen-model writes.
std::vector<u8> with_key(tools::GgufModelSpec spec, const std::function<void(tools::GgufWriter&)>& edit)
{
    auto plan = tools::plan_gguf_model(spec).release_value();
    edit(plan);
    std::vector<u8> bytes;
    tools::ChunkWriter out { [](void* c, const void* d, usize n) -> kl::ErrorOr<void> {
                                auto& v = *static_cast<std::vector<u8>*>(c);
                                v.insert(v.end(), static_cast<const u8*>(d), static_cast<const u8*>(d) + n);
                                return {};
                            },
        &bytes };
    REQUIRE_FALSE(tools::write_gguf_model(spec, plan, out).is_error());
    return bytes;
}

}

TEST_CASE("gguf model: hyperparameters and every tensor view", "[gguf]")
{
    tools::GgufModelSpec spec = small_spec(small_config(), "f32");
    spec.tied_classifier = false;
    ParsedGguf p(make_gguf(spec));
    gguf::LlamaModel m {};
    auto mapped = gguf::map_llama(m, p.file);
    INFO(error_text(mapped));
    REQUIRE_FALSE(mapped.is_error());
    const Config c = small_config();
    CHECK((m.config.dim == c.dim && m.config.hidden_dim == c.hidden_dim && m.config.n_layers == c.n_layers));
    CHECK((m.config.n_heads == c.n_heads && m.config.n_kv_heads == c.n_kv_heads && m.config.vocab_size == 512));
    CHECK(m.config.seq_len == 64);
    CHECK(m.rope_dimensions == 8);
    CHECK(m.rope_freq_base == 10000.0f);
    CHECK(m.rms_norm_eps == 1e-5f);
    CHECK_FALSE(m.tied_output);
    CHECK(m.output.data == gguf::find_tensor(p.file, "output.weight")->data);
    CHECK((m.token_embedding.rows == 512 && m.token_embedding.cols == 32));
    const gguf::LayerWeights& l1 = m.layers[1];
    CHECK(l1.wk.data == gguf::find_tensor(p.file, "blk.1.attn_k.weight")->data);
    CHECK((l1.wk.rows == 16 && l1.wk.cols == 32));
    CHECK((l1.w2.rows == 32 && l1.w2.cols == 64));
    CHECK((l1.w1.rows == 64 && l1.w3.rows == 64));
    CHECK((l1.ffn_norm.rows == 1 && l1.ffn_norm.cols == 32 && l1.ffn_norm.format == Format::F32));
    // Norms are 1 +- 0.1 and matrices +-1/sqrt(cols): the values are where gen-model put them.
    const float* norm = static_cast<const float*>(l1.attn_norm.data);
    CHECK((norm[0] > 0.89f && norm[0] < 1.11f));
    u64 bytes = 0;
    for (u64 i = 0; i < p.file.tensor_count; ++i)
        bytes += p.file.tensors[i].bytes;
    CHECK(m.weight_bytes == bytes);
    char formats[64];
    gguf::describe_formats(m, formats, sizeof(formats));
    CHECK(std::string(formats) == "f32 21");
    gguf::free_llama(m);
}

TEST_CASE("gguf model: the classifier is the embedding when output.weight is absent", "[gguf]")
{
    ParsedGguf p(make_gguf(small_spec(small_config(), "q8_0")));
    gguf::LlamaModel m {};
    REQUIRE_FALSE(gguf::map_llama(m, p.file).is_error());
    CHECK(m.tied_output);
    CHECK(m.output.data == m.token_embedding.data);
    CHECK(m.token_embedding.format == Format::Q8_0);
    CHECK(m.layers[0].attn_norm.format == Format::F32);
    gguf::free_llama(m);
}

TEST_CASE("gguf model: the Q4_K_M mix puts Q6_K where llama.cpp does", "[gguf]")
{
    Config c = k_config();
    c.n_layers = 16;  // n/8 = 2: layers 0, 1, 14, 15 and every third from 2 (4, 7, 10, 13)
    tools::GgufModelSpec spec = small_spec(c, "q4_k_m");
    spec.tied_classifier = false;
    const i32 more_bits[] = { 0, 1, 4, 7, 10, 13, 14, 15 };
    for (i32 l = 0; l < 16; ++l) {
        const bool more = std::find(std::begin(more_bits), std::end(more_bits), l) != std::end(more_bits);
        INFO("layer " << l);
        CHECK(tools::format_for(spec, "attn_v", l) == (more ? Format::Q6_K : Format::Q4_K));
        CHECK(tools::format_for(spec, "ffn_down", l) == (more ? Format::Q6_K : Format::Q4_K));
        CHECK(tools::format_for(spec, "attn_q", l) == Format::Q4_K);
        CHECK(tools::format_for(spec, "ffn_up", l) == Format::Q4_K);
    }
    CHECK(tools::format_for(spec, "output", -1) == Format::Q6_K);
    CHECK(tools::format_for(spec, "token_embd", -1) == Format::Q4_K);
    spec.tied_classifier = true;
    CHECK(tools::format_for(spec, "token_embd", -1) == Format::Q6_K);

    spec.config = k_config();
    spec.config.n_layers = 2;
    ParsedGguf p(make_gguf(spec));
    gguf::LlamaModel m {};
    REQUIRE_FALSE(gguf::map_llama(m, p.file).is_error());
    // Two layers: n / 8 = 0, so only layer 1 (>= 7n/8) gets the extra bits.
    CHECK(m.layers[0].wv.format == Format::Q4_K);
    CHECK(m.layers[1].wv.format == Format::Q6_K);
    CHECK(m.layers[1].w2.format == Format::Q6_K);
    CHECK(m.layers[1].wq.format == Format::Q4_K);
    CHECK(m.tied_output);
    CHECK(m.token_embedding.format == Format::Q6_K);  // the tied classifier
    char formats[64];
    gguf::describe_formats(m, formats, sizeof(formats));
    CHECK(std::string(formats) == "f32 5, q4_k 12, q6_k 3");
    gguf::free_llama(m);
}

TEST_CASE("gguf model: other architectures, missing keys and bad hyperparameters are refused", "[gguf]")
{
    const tools::GgufModelSpec spec = small_spec(small_config(), "f32");
    std::vector<u8> b = make_gguf(spec);
    const size_t arch = key_at(b, "general.architecture") + 8 + 20 + 4 + 8;  // the string's bytes
    memcpy(b.data() + arch, "gpt2!", 5);
    check_map_refused(b, ErrorCode::GgufModel, "architecture 'gpt2!' is not supported");

    b = make_gguf(spec);
    b[key_at(b, "llama.block_count") + 8 + 1] = 'X';  // the key is now "lXama.block_count"
    check_map_refused(b, ErrorCode::GgufMetadata, "llama.block_count is missing");

    b = make_gguf(spec);
    poke<u32>(b, key_at(b, "llama.attention.head_count") + 8 + 26 + 4, 3);
    check_map_refused(b, ErrorCode::GgufModel, "do not fit together");

    b = make_gguf(spec);
    poke<u32>(b, key_at(b, "llama.embedding_length") + 8 + 22 + 4, 0);
    check_map_refused(b, ErrorCode::GgufModel, "llama.embedding_length is 0, expected 1..65536");

    b = make_gguf(spec);
    poke<u32>(b, key_at(b, "llama.rope.dimension_count") + 8 + 26 + 4, 4);
    check_map_refused(b, ErrorCode::GgufModel, "partial rotary embeddings are not supported");

    b = make_gguf(spec);
    poke<float>(b, key_at(b, "llama.attention.layer_norm_rms_epsilon") + 8 + 38 + 4, -1.0f);
    check_map_refused(b, ErrorCode::GgufModel, "layer_norm_rms_epsilon is -1");

    b = with_key(spec, [](tools::GgufWriter& w) { w.add_string("llama.rope.scaling.type", "yarn"); });
    check_map_refused(b, ErrorCode::GgufModel, "llama.rope.scaling.type 'yarn' is not supported");
}

TEST_CASE("gguf model: missing tensors, wrong shapes and formats are refused by name", "[gguf]")
{
    const tools::GgufModelSpec spec = small_spec(small_config(), "f32");
    const std::vector<u8> good = make_gguf(spec);
    std::vector<u8> b = good;
    b[tensor_info_at(good, "blk.1.ffn_down.weight") + 8] = 'X';
    check_map_refused(b, ErrorCode::GgufModel, "tensor blk.1.ffn_down.weight is missing");

    b = good;
    b[tensor_info_at(good, "token_embd.weight") + 8] = 'X';
    check_map_refused(b, ErrorCode::GgufModel, "tensor token_embd.weight is missing");

    b = good;
    const size_t wq = tensor_info_at(good, "blk.0.attn_q.weight") + 8 + 19;
    poke<u64>(b, wq + 4 + 8, 16);  // 16 rows instead of 32
    check_map_refused(b, ErrorCode::GgufModel, "tensor blk.0.attn_q.weight: shape [32, 16, 1, 1], expected [32, 32]");

    b = good;
    const size_t norm = tensor_info_at(good, "blk.0.ffn_norm.weight") + 8 + 21;
    poke<u32>(b, norm + 4 + 8, 1);  // F16 instead of F32 (and half the bytes: still inside the file)
    check_map_refused(b, ErrorCode::GgufModel, "tensor blk.0.ffn_norm.weight is f16, expected f32");

    // A Q4_0 model maps too (norms F32, matrices Q4_0).
    ParsedGguf mixed(make_gguf(small_spec(small_config(), "q4_0")));
    gguf::LlamaModel m {};
    CHECK_FALSE(gguf::map_llama(m, mixed.file).is_error());
    gguf::free_llama(m);
}

TEST_CASE("gguf tokenizer: equals tokenizer.bin on the same vocabulary", "[gguf][tokenizer]")
{
    struct Case {
        const char* tokenizer;
        const char* encodings;
        i32 vocab;
    };
    for (Case k : { Case { "tok512.bin", "encodings-512.jsonl", 512 }, Case { "tokenizer.bin", "encodings-32k.jsonl", 32000 } }) {
        INFO(k.tokenizer);
        const std::vector<u8> bin = read_file(model_path(k.tokenizer));
        tools::GgufWriter w;
        REQUIRE_FALSE(tools::add_tokenizer(w, bin, k.vocab).is_error());
        ParsedGguf p(w.to_bytes([](u64, tools::ChunkWriter&) -> kl::ErrorOr<void> { return {}; }).release_value());
        Tokenizer from_gguf {}, from_bin {};
        auto built = gguf::build_tokenizer_gguf(from_gguf, p.file, k.vocab);
        INFO(error_text(built));
        REQUIRE_FALSE(built.is_error());
        REQUIRE_FALSE(build_tokenizer(from_bin, bin.data(), bin.size(), k.vocab).is_error());
        CHECK(from_gguf.bos_id == 1);
        CHECK(from_gguf.eos_id == 2);
        CHECK(from_gguf.add_bos);
        CHECK(from_gguf.space_id == from_bin.space_id);
        CHECK(from_gguf.lookup_count == static_cast<u32>(k.vocab - 2));  // BOS and EOS are control tokens
        for (i32 id = 3; id < k.vocab; ++id) {
            const std::string a(reinterpret_cast<const char*>(from_gguf.vocab[id]), from_gguf.vocab_length[id]);
            const std::string b(reinterpret_cast<const char*>(from_bin.vocab[id]), from_bin.vocab_length[id]);
            if (a != b || from_gguf.vocab_scores[id] != from_bin.vocab_scores[id])
                FAIL_CHECK("token " << id << ": '" << a << "' vs '" << b << "'");
        }
        for (const Encoding& e : read_encodings(reference_dir() + "/" + k.encodings)) {
            INFO("text: " << e.text);
            CHECK(encode_text(from_gguf, e.text) == e.ids);
        }
        // Random texts of printable ASCII, UTF-8 and control characters.
        std::mt19937 rng(3);
        const char* alphabet[] = { "a", "b", " ", "the", "Once", "\n", "é", "日", "🦙", "<s>", "</s>", "\t", "<0x41>", "." };
        for (int round = 0; round < 200; ++round) {
            std::string text;
            for (int i = 0; i < 1 + static_cast<int>(rng() % 12); ++i)
                text += alphabet[rng() % 14];
            INFO("text: " << text);
            const std::vector<i32> ids = encode_text(from_gguf, text);
            CHECK(ids == encode_text(from_bin, text));
            for (size_t i = 1; i < ids.size(); ++i)
                CHECK((ids[i] != 1 && ids[i] != 2));  // control tokens never come from text
        }
        const TokenPiece after_bos = decode(from_gguf, 1, from_gguf.space_id);
        CHECK(after_bos.length == 0);
        free_tokenizer(from_gguf);
        free_tokenizer(from_bin);
    }
}

TEST_CASE("gguf tokenizer: other tokenizer models and mismatched vocabularies are refused", "[gguf][tokenizer]")
{
    const tools::GgufModelSpec spec = small_spec(small_config(), "f32");
    std::vector<u8> b = make_gguf(spec);
    memcpy(b.data() + key_at(b, "tokenizer.ggml.model") + 8 + 20 + 4 + 8, "gpt2!", 5);
    {
        ParsedGguf p(b);
        Tokenizer t {};
        auto built = gguf::build_tokenizer_gguf(t, p.file, 512);
        REQUIRE(built.is_error());
        CHECK(built.error().code() == ErrorCode::TokenizerUnsupported);
        CHECK(std::string(built.error().message()).find("'gpt2!' is not supported") != std::string::npos);
    }
    ParsedGguf p(make_gguf(spec));
    Tokenizer t {};
    auto built = gguf::build_tokenizer_gguf(t, p.file, 600);
    REQUIRE(built.is_error());
    CHECK(built.error().code() == ErrorCode::TokenizerMismatch);
    std::vector<u8> bad_bos = with_key(spec, [](tools::GgufWriter& w) { w.add_u32("tokenizer.ggml.pad_token_id", 0); });
    {
        ParsedGguf q(bad_bos);
        REQUIRE_FALSE(gguf::build_tokenizer_gguf(t, q.file, 512).is_error());
        free_tokenizer(t);
    }
    poke<u32>(bad_bos, key_at(bad_bos, "tokenizer.ggml.bos_token_id") + 8 + 27 + 4, 512);
    ParsedGguf q(bad_bos);
    built = gguf::build_tokenizer_gguf(t, q.file, 512);
    REQUIRE(built.is_error());
    CHECK(std::string(built.error().message()).find("bos_token_id is 512") != std::string::npos);
}

TEST_CASE("gguf chat template: absent, or the string the file holds", "[gguf]")
{
    tools::GgufModelSpec spec = small_spec(small_config(), "f32");
    {
        ParsedGguf p(make_gguf(spec));
        CHECK(gguf::chat_template(p.file).value().length == 0);
    }
    spec.chat_template = tools::find_chat_template("tinyllama");
    ParsedGguf p(make_gguf(spec));
    const gguf::StringView t = gguf::chat_template(p.file).value();
    CHECK(std::string(t.data, t.length).find("'<|user|>\n' + message['content'] + eos_token") != std::string::npos);
    CHECK(tools::find_chat_template("chatml"));
    CHECK(tools::find_chat_template("llama2"));
    CHECK_FALSE(tools::find_chat_template("alpaca"));
}

TEST_CASE("gguf converter: stories260K.bin in F32 holds the checkpoint's exact values", "[gguf]")
{
    const std::vector<u8> bin = read_file(model_path("stories260K.bin"));
    auto cp = parse_checkpoint(bin.data(), bin.size());
    REQUIRE_FALSE(cp.is_error());
    // stories260K's hidden_dim 172 is no whole number of 32-value blocks: ffn_down falls back to F16.
    tools::GgufModelSpec q8 = small_spec(cp.value().config, "q8_0");
    q8.source = &cp.value();
    q8.tied_classifier = cp.value().weights.shared_classifier;
    {
        ParsedGguf p(make_gguf(q8));
        gguf::LlamaModel m {};
        REQUIRE_FALSE(gguf::map_llama(m, p.file).is_error());
        CHECK(m.layers[0].wq.format == mjit::Format::Q8_0);
        CHECK(m.layers[0].w2.format == mjit::Format::F16);
        gguf::free_llama(m);
    }
    for (const char* type : { "f32", "f16" }) {
        INFO(type);
        tools::GgufModelSpec spec = small_spec(cp.value().config, type);
        spec.source = &cp.value();
        spec.tied_classifier = cp.value().weights.shared_classifier;
        ParsedGguf p(make_gguf(spec));
        gguf::LlamaModel m {};
        REQUIRE_FALSE(gguf::map_llama(m, p.file).is_error());
        const TransformerWeights& w = cp.value().weights;
        const u32 dim = cp.value().config.dim;
        CHECK(memcmp(m.output_norm.data, w.output_norm.data, dim * 4) == 0);
        CHECK(memcmp(m.layers[4].ffn_norm.data, w.layers[4].ffn_norm.data, dim * 4) == 0);
        // Every matrix decodes to the checkpoint's values (exactly in F32, within the format's step otherwise).
        const gguf::WeightView views[] = { m.token_embedding, m.layers[2].wk, m.layers[3].w2 };
        const WeightView sources[] = { w.token_embedding, w.layers[2].wk, w.layers[3].w2 };
        for (int i = 0; i < 3; ++i) {
            const gguf::WeightView& v = views[i];
            std::vector<float> row(v.cols);
            const u64 rb = mjit::row_bytes(v.format, v.cols).value();
            for (u32 r = 0; r < v.rows; ++r) {
                mjit::format_info(v.format).dequantize_row(static_cast<const u8*>(v.data) + r * rb, row.data(), v.cols);
                const float* expected = sources[i].f32() + static_cast<u64>(r) * v.cols;
                for (u32 j = 0; j < v.cols; ++j) {
                    const float tolerance = v.format == Format::F32 ? 0.0f : 0.02f * (fabsf(expected[j]) + 0.05f);
                    if (fabsf(row[j] - expected[j]) > tolerance)
                        FAIL_CHECK("tensor " << i << " row " << r << " col " << j << ": " << row[j] << " vs " << expected[j]);
                }
            }
        }
        gguf::free_llama(m);
    }
    free_checkpoint(cp.value());
}
