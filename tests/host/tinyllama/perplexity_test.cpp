// Perplexity as llama.cpp computes it (tinyllama/host/perplexity.h): the per-token
// log-softmax, the mean and its uncertainty, the chunking, and the figures of stories260K
// as a .bin and converted to GGUF on a text of this repository.
#include <catch2/catch.hpp>
#include <math.h>

#include "kernel_lib/mem/alloc.h"
#include "tests/host/tinyllama/gguf_fixtures.h"
#include "tests/host/tinyllama/model_fixtures.h"
#include "tinyllama/host/perplexity.h"

using namespace tllama;
using namespace tllama::test;

namespace {

// The perplexity of tests/data/perplexity-stories.txt (2410 tokens with tok512.bin), or
// of another text.
struct TextPerplexity {
    LoadedModel& model;
    std::string text = read_text(test_support::repo_root() + "/tests/data/perplexity-stories.txt");

    kl::ErrorOr<host::NllSum> over(i32 context, u32* chunks_seen = nullptr)
    {
        host::TokenList tokens = host::tokenize_text(model.tokenizer, text.data(), text.size()).release_value();
        auto count_chunk = [](void* seen, u32, u32, const host::NllSum&) { ++*static_cast<u32*>(seen); };
        u32 ignored = 0;
        auto sum = host::perplexity(model.transformer, model.tokenizer, tokens, context,
            { count_chunk, chunks_seen ? chunks_seen : &ignored });
        kl::mem::release(tokens.ids);
        return sum;
    }
};

}

TEST_CASE("perplexity: log-softmax and the final estimate follow llama.cpp's formulas", "[perplexity]")
{
    const float logits[] = { 0.0f, logf(3.0f), -100.0f };
    CHECK(host::log_softmax(logits, 3, 1) == Approx(log(0.75)).epsilon(1e-6));
    CHECK(host::log_softmax(logits, 3, 0) == Approx(log(0.25)).epsilon(1e-6));
    host::NllSum sum;
    for (double v : { 1.0, 2.0, 3.0, 4.0 })
        sum.add(v);
    CHECK(sum.count == 4);
    CHECK(sum.perplexity() == Approx(exp(2.5)));
    // variance 1.25 (population), over count - 1: sqrt(1.25 / 3) * ppl
    CHECK(sum.uncertainty() == Approx(sqrt(1.25 / 3.0) * exp(2.5)));
    host::NllSum flat;
    flat.add(1.0);
    flat.add(1.0);
    CHECK(flat.uncertainty() == 0.0);
}

TEST_CASE("perplexity: chunks of the context, the second half scored, bad contexts refused", "[perplexity]")
{
    LoadedModel m("stories260K.bin", "tok512.bin");
    TextPerplexity p { m };
    u32 chunks = 0;
    auto sum = p.over(512, &chunks);
    INFO(error_text(sum));
    REQUIRE_FALSE(sum.is_error());
    CHECK(chunks == 2410 / 512);
    CHECK(sum.value().count == chunks * (512 - 1 - 256));
    CHECK(sum.value().perplexity() > 1.0);
    CHECK(sum.value().perplexity() < 10.0);  // the model knows these simple stories well

    for (i32 context : { 3, 513 }) {
        auto refused = p.over(context);
        REQUIRE(refused.is_error());
        CHECK(std::string(refused.error().message()).find("context must be 4 to 512 tokens") != std::string::npos);
    }
    TextPerplexity short_text { m, "Once upon a time, there was a cat." };
    auto refused = short_text.over(8);
    REQUIRE(refused.is_error());
    CHECK(std::string(refused.error().message()).find("needs at least 16") != std::string::npos);
}

TEST_CASE("perplexity: batched prefill of the unscored half changes nothing", "[perplexity]")
{
    LoadedModel m("stories260K.bin", "tok512.bin");
    TextPerplexity p { m };
    const host::NllSum batched = p.over(128).release_value();
    set_prefill_block(m.transformer, 0);
    const host::NllSum single = p.over(128).release_value();
    CHECK(batched.nll == single.nll);
    CHECK(batched.nll2 == single.nll2);
    CHECK(batched.count == single.count);
}

TEST_CASE("perplexity: stories260K as GGUF: F32 equals the .bin, F16 and Q8_0 close to it", "[perplexity][gguf]")
{
    LoadedModel bin("stories260K.bin", "tok512.bin");
    const double expected = TextPerplexity { bin }.over(256).release_value().perplexity();
    const struct {
        const char* type;
        double tolerance;  // relative
    } cases[] = { { "f32", 0.0 }, { "f16", 1e-3 }, { "q8_0", 2e-2 } };
    for (const auto& c : cases) {
        INFO(c.type);
        const std::vector<u8> file = converted_gguf("stories260K.bin", c.type);
        LoadedModel gguf(file.data(), file.size(), nullptr);
        const double ppl = TextPerplexity { gguf }.over(256).release_value().perplexity();
        if (c.tolerance == 0.0)
            CHECK(ppl == expected);
        else
            CHECK(fabs(ppl - expected) <= c.tolerance * expected);
    }
}
