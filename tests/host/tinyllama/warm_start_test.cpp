// Warm start: a saved profile's decisions are parsed, verified and published; malformed or
// inapplicable ones are refused or skipped, never trusted.
#include <catch2/catch.hpp>

#include <string>

#include "microjit/isa.h"
#include "tests/host/tinyllama/model_fixtures.h"
#include "tinyllama/warm_start.h"

using namespace tllama;
using tllama::test::LoadedModel;

TEST_CASE("a profile's decisions are published before the first token; bad ones are skipped",
    "[tinyllama][warmstart]")
{
    LoadedModel model("stories260K.bin", "tok512.bin");
    Transformer& t = model.transformer;
    JitOptions options;
    options.isa_cap = kl::cpu::Isa::Sse2;  // runnable on every x86-64 host
    EngineJit jit(options);
    jit.attach(t);
    std::string profile = R"({"bareflow_profile": 1, "decisions": [
      {"op": "matvec_f32", "n": 64, "d": 64, "t": 1, "gs": 0, "isa": "sse2", "rows": 2, "tokens": 1, "unroll": 1, "flags": 0, "prefetch": 0},
      {"op": "matvec_f32", "n": 999, "d": 64, "t": 1, "gs": 0, "isa": "sse2", "rows": 2, "tokens": 1, "unroll": 1, "flags": 0, "prefetch": 0},
      {"op": "matvec_q9", "n": 64, "d": 64, "t": 1, "gs": 0, "isa": "sse2", "rows": 2, "tokens": 1, "unroll": 1, "flags": 0, "prefetch": 0},
      {"op": "matvec_f32", "n": 64, "d": 172, "t": 1, "gs": 0, "isa": "sse2", "rows": 99, "tokens": 1, "unroll": 1, "flags": 0, "prefetch": 0},
      {"op": "matmul_f32", "n": 64, "d": 172, "t": 16, "gs": 0, "isa": "sse2", "rows": 1, "tokens": 2, "unroll": 1, "flags": 0, "prefetch": 0}
    ]})";
    auto result = warm_start(t, jit, profile.data(), profile.size());
    REQUIRE_FALSE(result.is_error());
    CHECK(result.value().decisions == 5);
    CHECK(result.value().published == 2);
    CHECK(result.value().skipped == 3);
    CHECK(t.slots.layers[0].wq.product->tier == mjit::Tier::Tuned);
    CHECK(t.slots.layers[0].wq.product->settled);
    CHECK(t.slots.layers[0].w1.product->tier == mjit::Tier::Default);  // rows 99: refused by the generator
    CHECK_FALSE(t.slots.layers[0].w1.product->settled);                 // so it still tunes normally
    // A prefill (matmul) decision is applied like the others (it once was skipped: "no
    // weights of this shape").
    REQUIRE(t.block_slots.layers != nullptr);
    CHECK(t.block_slots.layers[0].w1.product->tier == mjit::Tier::Tuned);
    CHECK(t.block_slots.layers[0].w1.product->config.tokens == 2);
}

TEST_CASE("a malformed profile is an error naming where", "[tinyllama][warmstart]")
{
    LoadedModel model("stories260K.bin", "tok512.bin");
    Transformer& t = model.transformer;
    EngineJit jit(JitOptions {});
    jit.attach(t);
    for (std::string bad : { std::string("not json at all"), std::string(R"({"decisions": [{"op": "matvec_f32", "n": 64)"),
             std::string(R"({"decisions": [{"op": matvec}]})"), std::string(R"({"decisions": [{"n": 99999999999}]})") }) {
        auto result = warm_start(t, jit, bad.data(), bad.size());
        INFO(bad);
        REQUIRE(result.is_error());
        CHECK(std::string(result.error().message()).find("profile") != std::string::npos);
    }
}
