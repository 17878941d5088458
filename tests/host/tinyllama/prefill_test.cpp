// Batched prefill is bit-identical to running the prompt one token at a time: the same
// KV cache bytes, the same logits, the same text -- with the reference kernels and with
// the micro-JIT's kernels alike.
#include <catch2/catch.hpp>
#include <string.h>

#include <string>
#include <vector>

#include "tests/host/tinyllama/model_fixtures.h"
#include "tinyllama/engine_jit.h"
#include "tinyllama/generate.h"
#include "tinyllama/sampler.h"
#include "tinyllama/tokenizer.h"

using namespace tllama;
using tllama::test::LoadedModel;
using tllama::test::model_path;
using tllama::test::read_file;

namespace {

const char* long_prompt =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
    "friends. One day, she saw a big red ball under a tall tree and she ran to get it.";

std::vector<i32> encode_prompt(const Tokenizer& tokenizer)
{
    std::vector<i32> tokens(encode_capacity(strlen(long_prompt)));
    auto n = encode(tokenizer, long_prompt, strlen(long_prompt), true, false, tokens.data(), tokens.size());
    REQUIRE_FALSE(n.is_error());
    tokens.resize(n.value());
    return tokens;
}

std::vector<float> cache_bytes(const Transformer& t, i32 positions)
{
    const Config& c = t.config;
    std::vector<float> all;
    for (i32 l = 0; l < c.n_layers; ++l) {
        const float* k = t.state.key_cache + static_cast<u64>(l) * c.seq_len * c.kv_dim();
        const float* v = t.state.value_cache + static_cast<u64>(l) * c.seq_len * c.kv_dim();
        all.insert(all.end(), k, k + static_cast<u64>(positions) * c.kv_dim());
        all.insert(all.end(), v, v + static_cast<u64>(positions) * c.kv_dim());
    }
    return all;
}

void check_identical(const char* model_name, bool with_jit)
{
    INFO(model_name << (with_jit ? " with the JIT" : " with the reference kernels"));
    auto file = read_file(model_path(model_name));
    LoadedModel blocked(file.data(), file.size(), "tok512.bin");
    REQUIRE(blocked.transformer.prefill_block == default_prefill_block);
    Transformer single;
    REQUIRE_FALSE(build_transformer(single, file.data(), file.size(), 0).is_error());
    REQUIRE(single.prefill_block == 0);

    JitOptions options;
    EngineJit jit_a(options);
    EngineJit jit_b(options);
    if (with_jit) {
        jit_a.attach(blocked.transformer);
        jit_b.attach(single);
    }
    std::vector<i32> tokens = encode_prompt(blocked.tokenizer);
    const i32 block = blocked.transformer.prefill_block;
    const i32 full = static_cast<i32>(tokens.size()) / block * block;
    REQUIRE(full >= 2 * block);
    // Several rounds, so that with the JIT the tiers settle and generated kernels run.
    for (int round = 0; round < 6; ++round) {
        for (i32 pos = 0; pos < full; pos += block)
            forward_block(blocked.transformer, tokens.data() + pos, pos);
        for (i32 pos = 0; pos < full; ++pos)
            forward(single, tokens[pos], pos);
        CHECK(cache_bytes(blocked.transformer, full) == cache_bytes(single, full));
        // The next token's logits agree too.
        const float* a = forward(blocked.transformer, tokens[full], full);
        std::vector<float> logits_a(a, a + blocked.transformer.config.vocab_size);
        const float* b = forward(single, tokens[full], full);
        CHECK(memcmp(logits_a.data(), b, logits_a.size() * sizeof(float)) == 0);
        // And so do those of a block that ends with that token (it computes the block's
        // other tokens again, with the same bits).
        const float* c = forward_block(blocked.transformer, tokens.data() + full + 1 - block, full + 1 - block, true);
        REQUIRE(c != nullptr);
        CHECK(memcmp(c, b, logits_a.size() * sizeof(float)) == 0);
        CHECK(forward_block(blocked.transformer, tokens.data(), 0) == nullptr);
    }
    free_transformer(single);
}

}

TEST_CASE("batched prefill fills the KV cache bit for bit like token-by-token", "[tinyllama][prefill]")
{
    check_identical("stories260K.bin", false);
    check_identical("stories260K-q8.bin", false);
}

TEST_CASE("batched prefill with the micro-JIT's kernels is bit-identical too", "[tinyllama][prefill][jit]")
{
    check_identical("stories260K.bin", true);
    check_identical("stories260K-q8.bin", true);
}

namespace {

struct Generated {
    std::string text;
    GenerateStats stats;
};

// The prompt's first `count` tokens, then greedy tokens up to position count + 8, with the
// prompt echoed.
Generated generate_from(LoadedModel& m, const std::vector<i32>& tokens, u32 count)
{
    Sampler sampler {};
    REQUIRE_FALSE(build_sampler(sampler, m.transformer.config.vocab_size, 0.0f, 0.9f, 1).is_error());
    Generated g;
    TextSink sink { [](void* c, const char* b, usize n) { static_cast<std::string*>(c)->append(b, n); }, &g.text };
    GenerateRun run {};
    run.tokens = tokens.data();
    run.count = count;
    run.end_pos = static_cast<i32>(count) + 8;
    run.echo = true;
    auto stats = run_generation(m.transformer, m.tokenizer, sampler, run, sink);
    free_sampler(sampler);
    REQUIRE_FALSE(stats.is_error());
    g.stats = stats.value();
    return g;
}

}

TEST_CASE("the prompt's leftover tokens, half a block or more, go as a block overlapping the one before",
    "[tinyllama][prefill]")
{
    // Every prompt length from one token to three blocks and one: whole blocks, then the
    // leftover prompt tokens token by token or (at least 8 of 16) as one more block that
    // computes some of the previous block's tokens again; a block that ends with the last
    // prompt token gives the logits of the first sample. The text and the pass count are
    // those of token-by-token.
    LoadedModel m("stories260K.bin", "tok512.bin");
    const i32 block = m.transformer.prefill_block;
    REQUIRE(block == 16);
    std::vector<i32> tokens = encode_prompt(m.tokenizer);
    REQUIRE(tokens.size() >= static_cast<usize>(3 * block + 1));
    for (u32 count = 1; count <= static_cast<u32>(3 * block + 1); ++count) {
        INFO("prompt tokens " << count);
        set_prefill_block(m.transformer, 0);
        const Generated single = generate_from(m, tokens, count);
        set_prefill_block(m.transformer, block);
        const Generated blocked = generate_from(m, tokens, count);
        CHECK(blocked.text == single.text);
        CHECK(blocked.stats.forward_passes == single.stats.forward_passes);
        CHECK(blocked.stats.generated_tokens == single.stats.generated_tokens);
    }
}
