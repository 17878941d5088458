// fp32 matvec/matmul kernels: every output bit-identical to the reference kernel, whose
// summation order (reference.h) is checked here against an independent implementation and
// whose values are checked against a double-precision oracle (jit_test_support.h).
//
// Every kernel runs on guard-paged buffers (jit_test_support.h), so any out-of-bounds
// access crashes the binary. ISAs this host lacks are reported with WARN and skipped.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string.h>

#include "microjit/candidates.h"
#include "microjit/reference.h"
#include "tests/host/microjit/jit_test_support.h"

using namespace mjit;
using namespace mjit::test;

namespace {

void warn_skipped(const char* what)
{
    for (Isa isa : all_isas()) {
        bool found = false;
        for (Isa r : runnable_isas())
            found |= r == isa;
        if (!found)
            WARN("SKIPPED: " << what << " on " << kl::cpu::isa_name(isa) << ": this CPU (or MJIT_TEST_ISA) lacks it");
    }
}

// The canonical order of reference.h, written apart from reference.cpp: element j into
// lane j % 16 (product rounded first), then the tree as halving widths 8, 4, 2, 1.
float canonical_dot(const float* w, const float* x, u32 n)
{
    float lane[16];
    for (float& l : lane)
        l = 0.0f;
    for (u32 j = 0; j < n; ++j) {
        volatile float product = w[j] * x[j];
        lane[j % 16] = lane[j % 16] + product;
    }
    for (u32 width = 8; width >= 1; width /= 2)
        for (u32 k = 0; k < width; ++k)
            lane[k] = lane[k] + lane[k + width];
    return lane[0];
}

u32 bits(float f)
{
    u32 b;
    memcpy(&b, &f, 4);
    return b;
}

// Runs one config on one case; on failure reports the kernel and the first mismatch.
void expect_ok(const KernelConfig& config, const MatrixCase& c)
{
    const Verdict v = run_matrix_case(config, c);
    if (!v.ok)
        FAIL_CHECK(describe(config) << " rows [" << c.row_begin << ", " << c.row_end << "): " << v.detail);
}

}

TEST_CASE("fp32 reference: the canonical 16-lane order, no FMA, no other order", "[jit][f32]")
{
    Rng rng(5);
    std::vector<float> w(5000), x(5000);
    u32 differs_from_sequential = 0, differs_from_fma = 0, lengths = 0;
    for (u32 n = 0; n <= 5000; n += n < 300 ? 1 : 97) {
        for (u32 j = 0; j < n; ++j) {
            w[j] = rng.uniform(-1, 1);
            x[j] = rng.uniform(-1, 1);
        }
        const float canonical = canonical_dot(w.data(), x.data(), n);
        INFO("n = " << n);
        REQUIRE(bits(mjit::ref::dot_f32(w.data(), x.data(), n)) == bits(canonical));
        // The data tells orders apart: a sequential sum, or the same lanes with fused
        // multiply-adds, give other bits for most lengths.
        float sequential = 0.0f, fused[16] = {};
        for (u32 j = 0; j < n; ++j) {
            volatile float product = w[j] * x[j];
            sequential = sequential + product;
            fused[j % 16] = __builtin_fmaf(w[j], x[j], fused[j % 16]);
        }
        for (u32 width = 8; width >= 1; width /= 2)
            for (u32 k = 0; k < width; ++k)
                fused[k] = fused[k] + fused[k + width];
        differs_from_sequential += bits(sequential) != bits(canonical);
        differs_from_fma += bits(fused[0]) != bits(canonical);
        ++lengths;
    }
    CHECK(differs_from_sequential > lengths / 2);
    CHECK(differs_from_fma > lengths / 2);

    // matmul_f32 is dot_f32 for every (token, row) of the range.
    KernelArgs args {};
    std::vector<float> out(3 * 7, -1.0f);
    args.out = out.data();
    args.w = w.data();
    args.x = x.data();
    args.row_begin = 2;
    args.row_end = 6;
    args.n = 100;
    args.d = 7;
    args.t = 3;
    mjit::ref::matmul_f32(&args);
    for (u32 tok = 0; tok < 3; ++tok)
        for (u32 row = 0; row < 7; ++row) {
            const float expected = row >= 2 && row < 6 ? canonical_dot(w.data() + row * 100, x.data() + tok * 100, 100) : -1.0f;
            CHECK(bits(out[tok * 7 + row]) == bits(expected));
        }
}

TEST_CASE("fp32: every variant (rows, tokens, unroll, prefetch, stripes, aligned) on a few shapes", "[jit][f32]")
{
    for (Isa isa : runnable_isas()) {
        u64 kernels = 0;
        const u32 width = vector_bytes(isa) / 4;
        for (u32 n : { 1u, 17u, 64u, 100u, 257u, 16 * width + width })
            for (u8 rows = 1; rows <= 8; ++rows)
                for (u8 tokens = 1; tokens <= 4; ++tokens)
                    for (u8 unroll : { 1, 3 })
                        for (u8 flags : { u8(0), variant::prefetch_nta, variant::stripes, variant::aligned }) {
                            const u32 t = tokens == 1 ? 1 : 5;
                            KernelConfig config = default_config(t > 1 ? ops::matmul_f32 : ops::matvec_f32, shape_of(n, 13, t), isa);
                            config.rows = rows;
                            config.tokens = tokens;
                            config.unroll = unroll;
                            config.flags = flags;
                            config.prefetch = flags == variant::prefetch_nta ? 256 : unroll == 3 ? 512 : 0;
                            if (validate(config).is_error())
                                continue;
                            expect_ok(config, MatrixCase { n, 13, t, 0, 1, 12, Flush::End, 0, n * 10ull + rows });
                            ++kernels;
                        }
        INFO(kl::cpu::isa_name(isa) << ": " << kernels << " kernels");
        CHECK(kernels > (isa == Isa::Sse2 ? 100u : 300u));
    }
}

TEST_CASE("fp32 matvec: every n and d in 1..64, every ISA", "[jit][f32]")
{
    warn_skipped("fp32 matvec sweep");
    for (Isa isa : runnable_isas()) {
        u64 cases = 0;
        for (u32 n = 1; n <= 64; ++n)
            for (u32 d = 1; d <= 64; ++d) {
                const KernelConfig config = varied_config(ops::matvec_f32, shape_of(n, d), isa, n * 64 + d);
                expect_ok(config, MatrixCase { n, d, 1, 0, 0, d, Flush::End, 0, n * 1000ull + d });
                ++cases;
            }
        CHECK(cases == 64 * 64);
    }
}

TEST_CASE("fp32 matmul: t = 1..8 over small shapes, tokens and rows in flight", "[jit][f32]")
{
    warn_skipped("fp32 matmul sweep");
    for (Isa isa : runnable_isas())
        for (u32 t = 1; t <= 8; ++t)
            for (u32 n = 1; n <= 40; n += (n < 18 ? 1 : 7))
                for (u32 d = 1; d <= 11; ++d) {
                    const KernelConfig config = varied_config(ops::matmul_f32, shape_of(n, d, t), isa, t * 7 + n + d);
                    expect_ok(config, MatrixCase { n, d, t, 0, 0, d, Flush::End, 0, t * 100ull + n * 10 + d });
                }
}

TEST_CASE("fp32: random shapes up to 4096 with random row ranges", "[jit][f32]")
{
    Rng rng(42);
    for (Isa isa : runnable_isas())
        for (int i = 0; i < 24; ++i) {
            const u32 n = 1 + rng.below(i < 12 ? 4096 : 300);
            const u32 d = 1 + rng.below(i < 12 ? 96 : 700);
            const u32 t = i % 3 == 0 ? 1 + rng.below(8) : 1;
            const u64 begin = rng.below(d);
            const u64 end = begin + 1 + rng.below(static_cast<u32>(d - begin));
            const Op op = t > 1 ? ops::matmul_f32 : ops::matvec_f32;
            const KernelConfig config = varied_config(op, shape_of(n, d, t), isa, i);
            expect_ok(config, MatrixCase { n, d, t, 0, begin, end, Flush::End, 0, 7000ull + i });
        }
}

TEST_CASE("fp32: row sub-ranges leave other rows untouched and handle every remainder", "[jit][f32]")
{
    for (Isa isa : runnable_isas())
        for (u8 rows : { 1, 3, 4, 8 }) {
            KernelConfig config = default_config(ops::matmul_f32, shape_of(37, 29, 3), isa);
            config.rows = rows;
            config.tokens = 2;
            if (validate(config).is_error()) {
                CHECK(isa != Isa::Avx512);  // only the 16-register ISAs run out
                continue;
            }
            for (u64 begin = 0; begin < 29; begin += 3)
                for (u64 end = begin; end <= 29; end += 5)
                    expect_ok(config, MatrixCase { 37, 29, 3, 0, begin, end, Flush::End, 0, begin * 31 + end });
            // An empty or inverted range writes nothing at all.
            expect_ok(config, MatrixCase { 37, 29, 3, 0, 29, 29 });
            expect_ok(config, MatrixCase { 37, 29, 3, 0, 20, 5 });
        }
}

TEST_CASE("fp32: stripes split every row range exactly, leftovers included", "[jit][f32]")
{
    for (Isa isa : runnable_isas())
        for (u8 rows : { 2, 3, 4 })
            for (u32 t : { 1u, 3u }) {
                KernelConfig config = default_config(t > 1 ? ops::matmul_f32 : ops::matvec_f32, shape_of(45, 40, t), isa);
                config.rows = rows;
                config.tokens = static_cast<u8>(t > 1 ? 2 : 1);
                config.flags = variant::stripes;
                if (validate(config).is_error()) {
                    CHECK(isa != Isa::Avx512);
                    continue;
                }
                u64 ranges = 0;
                expect_ok(config, MatrixCase { 45, 40, t, 0, 30, 2 });  // inverted: nothing
                for (u64 begin = 0; begin < 40; begin += 7)
                    for (u64 end = begin; end <= 40; end += 3) {
                        expect_ok(config, MatrixCase { 45, 40, t, 0, begin, end, Flush::End, 0, begin * 50 + end });
                        ++ranges;
                    }
                CHECK(ranges > 40);
            }
    KernelConfig bad = default_config(ops::matvec_f32, shape_of(64, 64), Isa::Sse2);
    bad.rows = 5;
    bad.flags = variant::stripes;
    CHECK(validate(bad).is_error());
}

TEST_CASE("fp32: misaligned and start-flush buffers, and the aligned variant", "[jit][f32]")
{
    for (Isa isa : runnable_isas()) {
        const u32 width = vector_bytes(isa) / 4;
        for (u32 n : { 5u, 16u, 33u, 64u, 100u, 257u }) {
            const KernelConfig config = default_config(ops::matvec_f32, shape_of(n, 13), isa);
            for (size_t misalign : { 0u, 4u, 8u, 12u, 20u, 36u })
                expect_ok(config, MatrixCase { n, 13, 1, 0, 0, 13, Flush::Start, misalign, n + misalign });
        }
        // The aligned variant needs rows of whole vectors and aligned pointers (guarded
        // buffers end on a page, so rows of whole vectors start aligned).
        for (u32 n : { width, 2 * width, 9 * width, 72 * width }) {
            KernelConfig config = default_config(ops::matmul_f32, shape_of(n, 21, 3), isa);
            config.flags |= variant::aligned;
            REQUIRE_FALSE(validate(config).is_error());
            expect_ok(config, MatrixCase { n, 21, 3, 0, 2, 19, Flush::End, 0, n });
        }
        KernelConfig bad = default_config(ops::matvec_f32, shape_of(width + 1, 4), isa);
        bad.flags |= variant::aligned;
        CHECK(validate(bad).is_error());
    }
}

TEST_CASE("fp32: the real model shapes with every autotuning candidate", "[jit][f32]")
{
    // (n, d) of stories260K, 15M, 42M, 110M and TinyLlama 1.1B (32000 only with small
    // dims: 2048 x 32000 fp32 would be 262 MB).
    static constexpr u32 shapes[][2] = { { 64, 64 }, { 64, 32 }, { 64, 172 }, { 172, 64 }, { 64, 512 }, { 288, 288 },
        { 288, 768 }, { 768, 288 }, { 512, 512 }, { 512, 1376 }, { 1376, 512 }, { 768, 768 }, { 768, 2048 }, { 2048, 768 },
        { 2048, 2048 }, { 2048, 256 }, { 2048, 5632 }, { 5632, 2048 }, { 288, 32000 }, { 64, 32000 }, { 32000, 64 } };
    for (Isa isa : runnable_isas())
        for (const auto& s : shapes) {
            const bool big = static_cast<u64>(s[0]) * s[1] > 2'000'000;
            KernelConfig configs[max_candidates];
            const usize count = candidate_configs(ops::matvec_f32, shape_of(s[0], s[1]), isa, host_caps(), configs, max_candidates);
            REQUIRE(count >= 1);
            // The big ones run the first two candidates only, to keep the suite fast.
            for (usize i = 0; i < (big ? 2 : count) && i < count; ++i)
                expect_ok(configs[i], MatrixCase { s[0], s[1], 1, 0, 0, s[1], Flush::End, 0, s[0] + i });
        }
}

TEST_CASE("fp32 matmul: real shapes for batched prefill", "[jit][f32]")
{
    static constexpr u32 shapes[][3] = { { 64, 172, 8 }, { 288, 768, 5 }, { 768, 288, 8 }, { 512, 1376, 3 }, { 2048, 256, 7 } };
    for (Isa isa : runnable_isas())
        for (const auto& s : shapes) {
            KernelConfig configs[max_candidates];
            const usize count = candidate_configs(ops::matmul_f32, shape_of(s[0], s[1], s[2]), isa, host_caps(), configs, max_candidates);
            REQUIRE(count >= 1);
            for (usize i = 0; i < count; i += 2)
                expect_ok(configs[i], MatrixCase { s[0], s[1], s[2], 0, 1, s[1] - 1, Flush::End, 0, i });
        }
}

TEST_CASE("fp32: kernels of every ISA assemble on any host, deterministically", "[jit][f32]")
{
    static u8 first[1 << 16], second[1 << 16];
    static const u8 vzeroupper_ret[] = { 0xC5, 0xF8, 0x77, 0xC3 };
    for (Isa isa : all_isas())
        for (u32 n : { 1u, 15u, 288u, 5632u }) {
            KernelConfig config = default_config(ops::matmul_f32, shape_of(n, 7, 3), isa);
            INFO(describe(config));
            auto a = emit_bytes(config, first, sizeof(first));
            auto b = emit_bytes(config, second, sizeof(second));
            REQUIRE_FALSE(a.is_error());
            REQUIRE_FALSE(b.is_error());
            REQUIRE(a.value() == b.value());
            CHECK(memcmp(first, second, a.value()) == 0);
            // AVX code must clean the upper halves before returning; SSE2 code has no VEX.
            const bool has_vzeroupper = std::search(first, first + a.value(), vzeroupper_ret, vzeroupper_ret + 4) != first + a.value();
            CHECK(has_vzeroupper == (isa != Isa::Sse2));
        }
}
