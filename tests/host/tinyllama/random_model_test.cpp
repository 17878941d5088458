// The random-model generator (tinyllama/host/random_model) and end-to-end runs of a stories15M-shaped
// checkpoint with the 32000-token tokenizer, in fp32 and Q8_0.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <set>

#include "tests/host/tinyllama/model_fixtures.h"
#include "tinyllama/host/random_model.h"

using namespace tllama;
using namespace tllama::test;

namespace {

kl::ErrorOr<void> append_chunk(void* context, const void* bytes, usize length)
{
    auto& out = *static_cast<std::vector<u8>*>(context);
    out.insert(out.end(), static_cast<const u8*>(bytes), static_cast<const u8*>(bytes) + length);
    return {};
}

std::vector<u8> generate_model(const char* shape, bool q8, i32 seq_len = 0, u64 seed = tools::default_seed)
{
    const tools::ModelShape* s = tools::find_shape(shape);
    REQUIRE(s != nullptr);
    tools::RandomModelSpec spec;
    spec.config = s->config;
    if (seq_len)
        spec.config.seq_len = seq_len;
    spec.q8 = q8;
    spec.seed = seed;
    std::vector<u8> bytes;
    bytes.reserve(tools::checkpoint_bytes(spec));
    tools::ChunkWriter out { append_chunk, &bytes };
    auto r = tools::write_random_checkpoint(spec, out);
    INFO(error_text(r));
    REQUIRE_FALSE(r.is_error());
    CHECK(bytes.size() == tools::checkpoint_bytes(spec));
    return bytes;
}

}

TEST_CASE("generated checkpoints have the real files' layout and parse", "[tinyllama][model]")
{
    // Same shape as the shared stories260K files: same sizes, same Q8 group size.
    CHECK(generate_model("stories260K", false).size() == read_file(model_path("stories260K.bin")).size());
    const auto q8 = generate_model("stories260K", true);
    CHECK(q8.size() == read_file(model_path("stories260K-q8.bin")).size());
    auto cp = parse_checkpoint(q8.data(), q8.size());
    INFO(error_text(cp));
    REQUIRE_FALSE(cp.is_error());
    CHECK(cp.value().weights.group_size == 4);
    free_checkpoint(cp.value());

    const tools::ModelShape* tiny = tools::find_shape("tinyllama-1.1b");
    REQUIRE(tiny != nullptr);
    CHECK(tools::q8_group_size(tiny->config) == 64);
    CHECK(tools::q8_group_size(tools::find_shape("stories15M")->config) == 32);
    CHECK(tools::find_shape("stories1B") == nullptr);
}

TEST_CASE("generated weights depend on the seed only, not on seq_len", "[tinyllama][model]")
{
    const auto a = generate_model("stories260K", false, 64, 7);
    const auto b = generate_model("stories260K", false, 64, 7);
    const auto c = generate_model("stories260K", false, 64, 8);
    const auto longer = generate_model("stories260K", false, 128, 7);
    CHECK(a == b);
    CHECK(a != c);
    // Identical up to the RoPE tables (the seq_len field itself differs in the header).
    const size_t rope = 64 * 8 * sizeof(float);
    REQUIRE(longer.size() == a.size() + rope);
    CHECK(std::equal(a.begin() + 28, a.end() - rope, longer.begin() + 28));
    // No Q8 weight is -128 (the loader's scan would refuse it).
    const auto q8 = generate_model("stories260K", true, 64, 7);
    auto parsed = parse_checkpoint(q8.data(), q8.size());
    CHECK_FALSE(parsed.is_error());
    if (!parsed.is_error())
        free_checkpoint(parsed.value());
}

TEST_CASE("a random stories15M-shaped model runs end to end with tokenizer.bin", "[tinyllama][model]")
{
    for (bool q8 : { false, true }) {
        DYNAMIC_SECTION((q8 ? "Q8_0" : "fp32"))
        {
            const auto bytes = generate_model("stories15M", q8, 32);
            LoadedModel m(bytes.data(), bytes.size(), "tokenizer.bin");
            CHECK(m.transformer.config.vocab_size == 32000);

            // Logits are finite and spread out (so sampling is not degenerate).
            float* logits = forward(m.transformer, token_bos, 0);
            float lo = logits[0], hi = logits[0];
            for (i32 i = 0; i < 32000; ++i) {
                REQUIRE(std::isfinite(logits[i]));
                lo = std::min(lo, logits[i]);
                hi = std::max(hi, logits[i]);
            }
            CHECK(hi - lo > 0.5f);

            const GenerateResult r = run_generate(m, "Once upon a time", 12, 1.0f, 0.9f, 5);
            CHECK(r.stats.prompt_tokens == 5);
            CHECK(r.stats.forward_passes <= 12);
            CHECK(r.text.rfind("Once upon a time", 0) == 0);
            CHECK(r.text.back() == '\n');

            // Greedy tokens over the whole (reduced) context are valid and not all equal.
            std::set<i32> seen;
            i32 token = token_bos;
            for (i32 pos = 0; pos < 32; ++pos) {
                logits = forward(m.transformer, token, pos);
                for (i32 i = 0; i < 32000; i += 97)
                    REQUIRE(std::isfinite(logits[i]));
                token = sample_argmax(logits, 32000);
                REQUIRE(token >= 0);
                REQUIRE(token < 32000);
                seen.insert(token);
            }
            CHECK(seen.size() > 3);
        }
    }
}
