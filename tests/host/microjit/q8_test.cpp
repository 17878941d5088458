// Q8_0 matvec/matmul kernels: every output bit-identical to the reference kernel (runq.c's
// order, checked here step by step), whose values are checked against an exact-integer
// double oracle (jit_test_support.h).
//
// Group sizes: every multiple of 4 the layouts distinguish (packed: 4, 8, 16 and 32 on
// AVX-512; grouped: whole vectors, vectors plus a masked part, less than a vector, long
// groups with an inner loop). Buffers are guard-paged (jit_test_support.h).
#include <catch2/catch.hpp>

#include <string.h>

#include "microjit/candidates.h"
#include "microjit/reference.h"
#include "tests/host/microjit/jit_test_support.h"

using namespace mjit;
using namespace mjit::test;

namespace {

// Q8G shapes: n, d, the group size, then the tokens.
Shape grouped_shape(u32 n, u32 d, u32 gs, u32 t = 1) { return shape_of(n, d, t, gs); }

void expect_ok(const KernelConfig& config, const MatrixCase& c)
{
    const Verdict v = run_matrix_case(config, c);
    if (!v.ok)
        FAIL_CHECK(describe(config) << " rows [" << c.row_begin << ", " << c.row_end << "): " << v.detail);
}

void warn_skipped(const char* what)
{
    const auto runnable = runnable_isas();
    if (runnable.back() != Isa::Avx512)
        WARN("SKIPPED: " << what << " on avx512: this CPU (or MJIT_TEST_ISA) lacks it");
    else if (!host_caps().avx512vnni)
        WARN("SKIPPED: " << what << " with the vnni variant: this CPU lacks AVX-512 VNNI");
}

}

TEST_CASE("Q8 reference: runq.c's order, one rounding after each step", "[jit][q8]")
{
    Rng rng(11);
    for (u32 gs : { 4u, 32u, 64u }) {
        const u32 n = gs * 9, d = 5;
        std::vector<i8> w(n * d), x(n);
        std::vector<float> ws(n / gs * d), xs(n / gs), out(d);
        for (auto& v : w)
            v = rng.q8();
        for (auto& v : x)
            v = rng.q8();
        for (auto& v : ws)
            v = rng.uniform(1e-3f, 2e-2f);
        for (auto& v : xs)
            v = rng.uniform(1e-3f, 2e-2f);
        KernelArgs args {};
        args.out = out.data();
        args.w = w.data();
        args.w_scale = ws.data();
        args.x = x.data();
        args.x_scale = xs.data();
        args.row_begin = 0;
        args.row_end = d;
        args.n = n;
        args.d = d;
        args.t = 1;
        args.gs = gs;
        ref::matmul_q8(&args);
        for (u32 row = 0; row < d; ++row) {
            volatile float sum = 0.0f;
            for (u32 g = 0; g < n / gs; ++g) {
                i32 isum = 0;
                for (u32 k = 0; k < gs; ++k)
                    isum += w[row * n + g * gs + k] * x[g * gs + k];
                volatile float term = static_cast<float>(isum);
                term = term * ws[row * (n / gs) + g];
                term = term * xs[g];
                sum = sum + term;
            }
            const float expected = sum;
            CHECK(memcmp(&out[row], &expected, 4) == 0);
        }
    }
}

TEST_CASE("Q8 matvec: group sizes x small shapes, every ISA", "[jit][q8]")
{
    warn_skipped("Q8 matvec sweep");
    static constexpr u32 group_sizes[] = { 4, 8, 12, 16, 20, 24, 32, 36, 48, 64, 96, 128, 160, 256, 544 };
    for (Isa isa : runnable_isas())
        for (u32 gs : group_sizes) {
            const u32 max_groups = gs == 4 ? 48 : gs <= 32 ? 12 : gs <= 128 ? 5 : 2;
            for (u32 groups = 1; groups <= max_groups; ++groups)
                for (u32 d = 1; d <= 13; d += (d < 9 ? 1 : 4)) {
                    const u32 n = gs * groups;
                    const KernelConfig config = varied_config(ops::matvec_q8, grouped_shape(n, d, gs), isa, gs * 100 + groups * 10 + d);
                    expect_ok(config, MatrixCase { n, d, 1, gs, 0, d, Flush::End, 0, n * 31ull + d });
                }
        }
}

TEST_CASE("Q8 matmul: t = 1..8, tokens and rows in flight", "[jit][q8]")
{
    warn_skipped("Q8 matmul sweep");
    for (Isa isa : runnable_isas())
        for (u32 t = 1; t <= 8; ++t)
            for (u32 gs : { 4u, 12u, 32u, 64u })
                for (u32 groups : { 1u, 3u, 7u })
                    for (u32 d = 1; d <= 9; d += 2) {
                        const u32 n = gs * groups;
                        const KernelConfig config = varied_config(ops::matmul_q8, grouped_shape(n, d, gs, t), isa, t + gs + groups + d);
                        expect_ok(config, MatrixCase { n, d, t, gs, 0, d, Flush::End, 0, t * 1000ull + n + d });
                    }
}

TEST_CASE("Q8: every variant (vnni, prefetch, unroll, rows, tokens) on a few shapes", "[jit][q8]")
{
    for (Isa isa : runnable_isas())
        for (u32 gs : { 4u, 16u, 32u, 64u, 48u })
            for (u8 rows = 1; rows <= 8; ++rows)
                for (u8 unroll : { 1, 3 })
                    for (u8 flags : { u8(0), variant::vnni, u8(variant::vnni | variant::prefetch_nta) }) {
                        KernelConfig config = default_config(ops::matmul_q8, grouped_shape(gs * 11, 19, gs, 5), isa);
                        config.rows = rows;
                        config.tokens = static_cast<u8>(1 + rows % 3);
                        config.unroll = unroll;
                        config.flags = flags;
                        config.prefetch = (flags & variant::prefetch_nta) ? 512 : 0;
                        if (validate(config).is_error() || !runnable(config))
                            continue;
                        expect_ok(config, MatrixCase { gs * 11, 19, 5, gs, 1, 18, Flush::End, 0, rows * 10ull + unroll });
                    }
}

TEST_CASE("Q8: random shapes up to 4096 with random row ranges, misaligned pointers", "[jit][q8]")
{
    Rng rng(99);
    static constexpr u32 group_sizes[] = { 4, 8, 16, 32, 64, 128, 12, 40 };
    for (Isa isa : runnable_isas())
        for (int i = 0; i < 24; ++i) {
            const u32 gs = group_sizes[rng.below(8)];
            const u32 n = gs * (1 + rng.below(4096 / gs));
            const u32 d = 1 + rng.below(i < 12 ? 64 : 400);
            const u32 t = i % 3 == 0 ? 1 + rng.below(8) : 1;
            const u64 begin = rng.below(d);
            const u64 end = begin + 1 + rng.below(static_cast<u32>(d - begin));
            const KernelConfig config = varied_config(t > 1 ? ops::matmul_q8 : ops::matvec_q8, grouped_shape(n, d, gs, t), isa, i);
            const size_t misalign = i % 4 == 0 ? 0 : 1 + rng.below(63);
            expect_ok(config, MatrixCase { n, d, t, gs, begin, end, i % 2 ? Flush::Start : Flush::End, misalign, 500ull + i });
        }
}

TEST_CASE("Q8: two stripes split every row range exactly", "[jit][q8]")
{
    for (Isa isa : runnable_isas())
        for (u32 gs : { 4u, 32u, 64u, 12u }) {
            KernelConfig config = default_config(ops::matvec_q8, grouped_shape(gs * 9, 33, gs), isa);
            config.rows = 2;
            config.unroll = 2;
            config.flags = variant::stripes;
            INFO(describe(config));
            REQUIRE_FALSE(validate(config).is_error());
            expect_ok(config, MatrixCase { gs * 9, 33, 1, gs, 20, 3 });  // inverted: nothing
            for (u64 begin = 0; begin < 33; begin += 5)
                for (u64 end = begin; end <= 33; end += 4)
                    expect_ok(config, MatrixCase { gs * 9, 33, 1, gs, begin, end, Flush::End, 0, begin * 40 + end });
        }
    KernelConfig four = default_config(ops::matvec_q8, grouped_shape(256, 8, 64), Isa::Avx2);
    four.rows = 4;
    four.flags = variant::stripes;
    CHECK(validate(four).is_error());
}

TEST_CASE("Q8: the aligned variant", "[jit][q8]")
{
    for (Isa isa : runnable_isas()) {
        const u32 v = vector_bytes(isa);
        for (u32 gs : { 4u, 32u, 64u, 128u }) {
            const u32 n = v * 6;
            if (n % gs)
                continue;
            KernelConfig config = default_config(ops::matmul_q8, grouped_shape(n, 10, gs, 3), isa);
            config.flags |= variant::aligned;
            REQUIRE_FALSE(validate(config).is_error());
            expect_ok(config, MatrixCase { n, 10, 3, gs, 0, 10 });
        }
    }
}

TEST_CASE("Q8: the real model shapes with every autotuning candidate", "[jit][q8]")
{
    // (n, d, gs): stories260K-q8 runs gs = 4 throughout; the larger models 32 or 64.
    static constexpr u32 shapes[][3] = { { 64, 64, 4 }, { 64, 32, 4 }, { 64, 172, 4 }, { 172, 64, 4 }, { 64, 512, 4 },
        { 288, 288, 32 }, { 288, 768, 32 }, { 768, 288, 32 }, { 512, 512, 64 }, { 512, 1376, 64 }, { 1376, 512, 32 },
        { 768, 768, 64 }, { 768, 2048, 64 }, { 2048, 768, 64 }, { 2048, 2048, 64 }, { 2048, 256, 64 }, { 2048, 5632, 64 },
        { 5632, 2048, 64 }, { 288, 32000, 32 }, { 2048, 32000, 64 }, { 32000, 64, 64 } };
    for (Isa isa : runnable_isas())
        for (const auto& s : shapes) {
            KernelConfig configs[max_candidates];
            const usize count = candidate_configs(ops::matvec_q8, grouped_shape(s[0], s[1], s[2]), isa, host_caps(), configs, max_candidates);
            REQUIRE(count >= 1);
            const bool big = static_cast<u64>(s[0]) * s[1] > 4'000'000;
            for (usize i = 0; i < (big ? 2 : count) && i < count; ++i)
                expect_ok(configs[i], MatrixCase { s[0], s[1], 1, s[2], 0, s[1], Flush::End, 0, s[0] + i });
        }
}

TEST_CASE("Q8: kernels of every ISA and variant assemble on any host", "[jit][q8]")
{
    static u8 buffer[1 << 16];
    for (Isa isa : all_isas())
        for (u32 gs : { 4u, 8u, 12u, 32u, 64u, 256u })
            for (u8 flags : { u8(0), variant::vnni }) {
                KernelConfig config = default_config(ops::matmul_q8, grouped_shape(gs * 9, 7, gs, 3), isa);
                config.flags = flags;
                if (flags && isa != Isa::Avx512)
                    continue;
                INFO(describe(config));
                auto size = emit_bytes(config, buffer, sizeof(buffer));
                REQUIRE_FALSE(size.is_error());
                CHECK(size.value() > 32);
            }
}
