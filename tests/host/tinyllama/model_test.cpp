// Checkpoint validation (each damaged header or size gives its error code and a message
// naming the field), the separate-classifier variants of both formats, memory reporting
// and the generation loop's limits.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "tests/host/tinyllama/model_fixtures.h"
#include "tests/host/test_support.h"

using namespace tllama;
using namespace tllama::test;
using kl::ErrorCode;

namespace {

// A parse result that releases what an accepted checkpoint allocated (its layer table).
struct Parsed : kl::ErrorOr<Checkpoint> {
    Parsed(kl::ErrorOr<Checkpoint>&& r) : kl::ErrorOr<Checkpoint>(static_cast<kl::ErrorOr<Checkpoint>&&>(r)) {}
    ~Parsed()
    {
        if (!is_error())
            free_checkpoint(value());
    }
};

// An owned, 16-byte aligned copy of a model file that a test can damage.
struct ModelBytes {
    std::vector<u8> bytes;
    explicit ModelBytes(const char* name) : bytes(read_file(model_path(name))) {}

    void put_i32(size_t offset, i32 value) { memcpy(&bytes[offset], &value, 4); }
    Parsed parse() const { return parse_checkpoint(bytes.data(), bytes.size()); }
};

// Config field offsets: legacy at 0, Q8 at 8.
enum Field { Dim = 0, Hidden = 4, Layers = 8, Heads = 12, KvHeads = 16, Vocab = 20, SeqLen = 24 };

void check_error(const kl::ErrorOr<Checkpoint>& r, ErrorCode code, const char* must_mention)
{
    INFO(error_text(r));
    REQUIRE(r.is_error());
    CHECK(r.error().code() == code);
    CHECK(std::string(r.error().message()).find(must_mention) != std::string::npos);
}

}

TEST_CASE("the shared stories260K checkpoints parse with the documented shape", "[tinyllama][model]")
{
    for (const char* name : { "stories260K.bin", "stories260K-q8.bin" }) {
        ModelBytes m(name);
        auto r = m.parse();
        INFO(name << ": " << error_text(r));
        REQUIRE_FALSE(r.is_error());
        const Config& c = r.value().config;
        CHECK(c.dim == 64);
        CHECK(c.hidden_dim == 172);
        CHECK(c.n_layers == 5);
        CHECK(c.n_heads == 8);
        CHECK(c.n_kv_heads == 4);  // grouped-query attention
        CHECK(c.vocab_size == 512);
        CHECK(c.seq_len == 512);
        CHECK(r.value().weights.shared_classifier);
        const bool q8 = std::string(name).find("q8") != std::string::npos;
        CHECK(r.value().weights.layers[0].wq.format == (q8 ? mjit::Format::Q8G : mjit::Format::F32));
        CHECK(r.value().weights.group_size == (q8 ? 4u : 0u));
        // Views into the buffer, not copies.
        CHECK(r.value().weights.output_norm.data > static_cast<const void*>(m.bytes.data()));
        CHECK(r.value().weights.wcls.data == r.value().weights.token_embedding.data);
    }
}

TEST_CASE("a legacy file of the wrong size is model.size, naming both sizes", "[tinyllama][model]")
{
    ModelBytes m("stories260K.bin");
    const size_t size = m.bytes.size();
    m.bytes.resize(size - 4);
    check_error(m.parse(), ErrorCode::ModelSize, std::to_string(size).c_str());
    m.bytes.resize(size + 100);
    check_error(m.parse(), ErrorCode::ModelSize, "trailing");
    m.bytes.resize(10);
    check_error(m.parse(), ErrorCode::ModelSize, "10 bytes");
    check_error(parse_checkpoint(m.bytes.data(), 0), ErrorCode::ModelSize, "0 bytes");
}

TEST_CASE("bad header fields are model.header / model.dims naming the field", "[tinyllama][model]")
{
    struct Case {
        Field field;
        i32 value;
        ErrorCode code;
        const char* mention;
    };
    const Case cases[] = {
        { Dim, 0, ErrorCode::ModelHeader, "dim is 0" },
        { Dim, -64, ErrorCode::ModelHeader, "dim is -64" },
        { Hidden, 1 << 20, ErrorCode::ModelHeader, "hidden_dim" },
        { Layers, 1000, ErrorCode::ModelHeader, "n_layers is 1000" },
        { SeqLen, 0, ErrorCode::ModelHeader, "seq_len" },
        { Vocab, 100, ErrorCode::ModelHeader, "vocab_size is 100" },
        { Vocab, INT32_MIN, ErrorCode::ModelHeader, "vocab_size" },
        { Heads, 7, ErrorCode::ModelDims, "n_heads 7" },
        { KvHeads, 3, ErrorCode::ModelDims, "n_kv_heads is 3" },
        { KvHeads, 16, ErrorCode::ModelDims, "n_kv_heads is 16" },
        { KvHeads, 0, ErrorCode::ModelHeader, "n_kv_heads is 0" },
        { Heads, 64, ErrorCode::ModelDims, "odd" },  // head_size 1
        { Dim, 65, ErrorCode::ModelDims, "dim 65" },
    };
    for (const char* name : { "stories260K.bin", "stories260K-q8.bin" }) {
        const size_t base = std::string(name).find("q8") != std::string::npos ? 8 : 0;
        for (const Case& c : cases) {
            ModelBytes m(name);
            m.put_i32(base + c.field, c.value);
            INFO(name << " field at " << c.field << " = " << c.value);
            check_error(m.parse(), c.code, c.mention);
        }
        // Well-formed fields that merely disagree with the file's size.
        ModelBytes m(name);
        m.put_i32(base + Layers, 4);
        check_error(m.parse(), ErrorCode::ModelSize, "layers 4");
    }
}

TEST_CASE("Q8 header problems are model.q8_header", "[tinyllama][model]")
{
    const size_t shared_at = 8 + 28, group_at = shared_at + 1;
    {
        ModelBytes m("stories260K-q8.bin");
        m.put_i32(4, 1);
        check_error(m.parse(), ErrorCode::ModelQ8Header, "version is 1");
    }
    for (i32 gs : { 0, -4, 3, 8, 64 }) {  // 8 and 64 do not divide hidden_dim 172
        ModelBytes m("stories260K-q8.bin");
        m.put_i32(group_at, gs);
        INFO("group size " << gs);
        check_error(m.parse(), ErrorCode::ModelQ8Header, "group_size");
    }
    {
        ModelBytes m("stories260K-q8.bin");
        m.bytes[shared_at] = 2;
        check_error(m.parse(), ErrorCode::ModelQ8Header, "shared_classifier is 2");
    }
    {
        // A damaged magic reads as a legacy header with an absurd dim.
        ModelBytes m("stories260K-q8.bin");
        m.bytes[0] ^= 0x40;
        check_error(m.parse(), ErrorCode::ModelHeader, "dim");
    }
    {
        ModelBytes m("stories260K-q8.bin");
        m.bytes.resize(200);
        check_error(m.parse(), ErrorCode::ModelSize, "header");
    }
}

TEST_CASE("a -128 weight byte in a Q8 file is refused, naming the tensor", "[tinyllama][model]")
{
    ModelBytes m("stories260K-q8.bin");
    size_t layer2 = 0;
    {
        auto good = m.parse();
        REQUIRE_FALSE(good.is_error());
        layer2 = static_cast<const u8*>(good.value().weights.layers[2].wo.data) - m.bytes.data();
    }
    m.bytes[layer2 + 37] = 0x80;
    check_error(m.parse(), ErrorCode::ModelQ8Header, "wo (layer 2)");
    m.bytes[layer2 + 37] = 0x81;  // -127 is fine
    CHECK_FALSE(m.parse().is_error());
}

TEST_CASE("a misaligned model buffer is refused, not read unaligned", "[tinyllama][model]")
{
    ModelBytes m("stories260K.bin");
    std::vector<u8> shifted(m.bytes.size() + 1);
    memcpy(shifted.data() + 1, m.bytes.data(), m.bytes.size());
    auto r = parse_checkpoint(shifted.data() + 1, m.bytes.size());
    REQUIRE(r.is_error());
    CHECK(r.error().code() == ErrorCode::InvalidArgument);
}

TEST_CASE("separate classifiers (negative vocab, shared_classifier 0) run like shared ones", "[tinyllama][model]")
{
    const std::string expected = read_text(reference_dir() + "/260K-greedy-once.txt");
    {
        // Legacy: negate vocab_size and append wcls, here a copy of the embedding table.
        ModelBytes m("stories260K.bin");
        m.put_i32(Vocab, -512);
        const size_t table = 512 * 64 * sizeof(float);
        m.bytes.insert(m.bytes.end(), m.bytes.begin() + 28, m.bytes.begin() + 28 + table);
        LoadedModel model(m.bytes.data(), m.bytes.size(), "tok512.bin");
        CHECK_FALSE(model.transformer.weights.shared_classifier);
        CHECK(model.transformer.weights.wcls.data != model.transformer.weights.token_embedding.data);
        CHECK(run_generate(model, "Once upon a time", 256, 0.0f, 0.9f, 1).text == expected);
    }
    {
        // Q8: flag 0 and a wcls tensor (values then scales) after w3.
        ModelBytes m("stories260K-q8.bin");
        size_t from = 0, length = 0;
        {
            auto cp = m.parse();
            REQUIRE_FALSE(cp.is_error());
            from = static_cast<const u8*>(cp.value().weights.token_embedding.data) - m.bytes.data();
            length = cp.value().weights.token_embedding.bytes;
        }
        m.bytes[8 + 28] = 0;
        m.bytes.insert(m.bytes.end(), m.bytes.begin() + from, m.bytes.begin() + from + length);
        LoadedModel model(m.bytes.data(), m.bytes.size(), "tok512.bin");
        CHECK_FALSE(model.transformer.weights.shared_classifier);
        CHECK(run_generate(model, "Once upon a time", 256, 0.0f, 0.9f, 1).text
            == read_text(reference_dir() + "/260Kq8-greedy-once.txt"));
    }
}

TEST_CASE("memory use reports weights, run state and the KV cache", "[tinyllama][model]")
{
    LoadedModel m("stories260K.bin", "tok512.bin");
    const MemoryUse use = memory_use(m.transformer);
    CHECK(use.kv_cache == 5ull * 512 * 32 * 2 * sizeof(float));  // layers * seq_len * kv_dim * 2 floats
    CHECK(use.weights == m.model_file.size - 28 - 512 * 8 * sizeof(float));  // minus header and RoPE tables
    CHECK(use.run_state >= (3 * 64 + 2 * 172 + 64 + 8 * 512 + 512) * sizeof(float));
    CHECK(use.run_state < 64 * 1024);
}

TEST_CASE("generate: steps 0 means seq_len, a sampled BOS ends the text, long prompts are refused", "[tinyllama][model]")
{
    LoadedModel m("stories260K.bin", "tok512.bin");
    // Every pass from the last prompt token on samples one token: a printed one, or the
    // BOS that ends the text. Without a BOS the run fills the whole context.
    auto check_run = [](const GenerateResult& r, u32 steps, bool expect_bos_end) {
        const u32 sampled = r.stats.forward_passes - (r.stats.prompt_tokens - 1);
        const bool ended_by_bos = sampled == r.stats.generated_tokens + 1;
        CHECK(ended_by_bos == expect_bos_end);
        CHECK((ended_by_bos || sampled == r.stats.generated_tokens));
        if (!ended_by_bos)
            CHECK(r.stats.forward_passes == steps);
        CHECK(r.text.back() == '\n');
    };
    const GenerateResult full = run_generate(m, "Once upon a time", 0, 0.0f, 0.9f, 1);
    check_run(full, 512, true);  // this story ends after 341 tokens
    check_run(run_generate(m, "", 0, 1.0f, 0.9f, 1), 512, true);
    check_run(run_generate(m, "Once upon a time", 300, 0.0f, 0.9f, 1), 300, false);
    // More steps than the context is the context.
    const GenerateResult clipped = run_generate(m, "Once upon a time", 100000, 0.0f, 0.9f, 1);
    CHECK(clipped.text == full.text);
    // Fewer steps than prompt tokens: the prompt is cut, nothing is sampled.
    const GenerateResult cut = run_generate(m, "Once upon a time", 2, 0.0f, 0.9f, 1);
    CHECK(cut.stats.generated_tokens == 0);
    CHECK(cut.stats.forward_passes == 2);

    std::string long_prompt;
    for (int i = 0; i < 300; ++i)
        long_prompt += "Lily and Ben ";
    Sampler sampler {};
    REQUIRE_FALSE(build_sampler(sampler, 512, 0.0f, 0.9f, 1).is_error());
    std::string sink_text;
    TextSink sink { [](void* c, const char* b, usize n) { static_cast<std::string*>(c)->append(b, n); }, &sink_text };
    auto r = generate(m.transformer, m.tokenizer, sampler, long_prompt.c_str(), 0, sink);
    free_sampler(sampler);
    INFO(error_text(r));
    REQUIRE(r.is_error());
    CHECK(r.error().code() == ErrorCode::PromptTooLong);
    CHECK(std::string(r.error().message()).find("512") != std::string::npos);
    CHECK(sink_text.empty());
}

TEST_CASE("a run state too big for memory gets a shorter context, or mem.out_of_memory: never a crash", "[tinyllama][model]")
{
    if (test_support::sanitized) {
        WARN("skipped under AddressSanitizer: its allocator aborts on a 128 TiB request instead of failing");
        return;
    }
    ModelBytes m("stories260K.bin");
    auto cp = m.parse();
    REQUIRE_FALSE(cp.is_error());
    Checkpoint huge = cp.value();
    cp.value().weights.layers = nullptr;  // the transformer below takes the layer table over
    // Valid dimensions whose KV cache is 2 * 4 * 2^20 * 65536 * 2 floats = 4 TiB; the
    // layers beyond the file's 5 reuse layer 0's views (never read: nothing runs).
    huge.config.dim = 65536;
    huge.config.n_heads = 64;
    huge.config.n_kv_heads = 64;
    huge.config.n_layers = 4;
    huge.config.seq_len = 1 << 20;
    REQUIRE_FALSE(validate_config(huge.config).is_error());
    for (i32 l = 0; l < huge.config.n_layers; ++l) {
        huge.weights.layers[l].wq.rows = huge.weights.layers[l].wq.cols = 65536;
    }
    Transformer t;
    auto r = build_transformer(t, huge);
    INFO(error_text(r));
    if (r.is_error()) {
        CHECK(r.error().code() == ErrorCode::OutOfMemory);
        CHECK(std::string(r.error().message()).find("KV cache") != std::string::npos);
    } else {
        // What the free memory holds: at least 64 positions, fewer than asked.
        CHECK(t.config.seq_len >= 64);
        CHECK(t.config.seq_len < (1 << 20));
    }
    free_transformer(t);
}
