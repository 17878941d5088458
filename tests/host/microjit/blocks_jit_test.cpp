// The block formats' generated matvec/matmul kernels (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K;
// gen_blocks.h): every output bit-identical to the format's reference kernel (whose order
// reference_blocks_test.cpp checks against an independent implementation and its values
// against double precision), on every ISA the host runs: one block and several, rows
// that end in a short step, d not a multiple of the rows in flight, row sub-ranges,
// several tokens, every variant, guard pages on every buffer, random block bytes with the
// scales drawn from the whole fp16 range.
#include <catch2/catch.hpp>
#include <math.h>
#include <string.h>

#include "microjit/blocks.h"
#include "microjit/candidates.h"
#include "tests/host/microjit/jit_test_support.h"

using namespace mjit;
using namespace mjit::test;

namespace {

constexpr Format block_formats[] = { Format::Q8_0, Format::Q4_0, Format::Q4_K, Format::Q5_K, Format::Q6_K };


u32 block_of(Format f) { return format_info(f).block_values; }

void expect_ok(const KernelConfig& config, const MatrixCase& c, bool extreme = false)
{
    const Verdict v = run_matrix_case(config, c, extreme);
    INFO(describe(config) << " rows [" << c.row_begin << ", " << c.row_end << "): " << v.detail);
    CHECK(v.ok);
}

std::vector<Isa> block_isas()
{
    std::vector<Isa> isas;
    for (Isa isa : runnable_isas())
        if (isa != Isa::Sse2)
            isas.push_back(isa);
    if (isas.empty() || isas.back() != Isa::Avx512)
        WARN("SKIPPED: block-format kernels on avx512: this CPU (or MJIT_TEST_ISA) lacks it");
    else if (!host_caps().avx512vnni)
        WARN("SKIPPED: block-format kernels with the vnni variant: this CPU lacks AVX-512 VNNI");
    return isas;
}

}

TEST_CASE("Block formats matvec: one to nine blocks x small d, every ISA", "[jit][blocks]")
{
    for (Format f : block_formats)
        for (Isa isa : block_isas()) {
            const u32 max_blocks = block_of(f) == 32 ? 9 : 3;
            for (u32 blocks = 1; blocks <= max_blocks; ++blocks)
                for (u32 d = 1; d <= 13; d += (d < 9 ? 1 : 4)) {
                    const u32 n = blocks * block_of(f);
                    const Op op { OpKind::Matvec, f };
                    const KernelConfig config = varied_config(op, shape_of(n, d), isa, blocks * 10 + d);
                    expect_ok(config, MatrixCase { n, d, 1, 0, 0, d, Flush::End, 0, n * 31ull + d }, d % 4 == 3);
                }
        }
}

TEST_CASE("Block formats matmul: t = 1..6, tokens and rows in flight", "[jit][blocks]")
{
    for (Format f : block_formats)
        for (Isa isa : block_isas())
            for (u32 t = 1; t <= 6; ++t)
                for (u32 blocks : { 1u, 3u, 6u })
                    for (u32 d = 1; d <= 9; d += 4) {
                        const u32 n = blocks * block_of(f);
                        const Op op { OpKind::Matmul, f };
                        const KernelConfig config = varied_config(op, shape_of(n, d, t), isa, t * 100 + blocks * 10 + d);
                        expect_ok(config, MatrixCase { n, d, t, 0, 0, d, Flush::End, 0, t * 1000ull + n + d });
                    }
}

TEST_CASE("Block formats: every variant (vnni, rows, tokens, unroll, prefetch, stripes)", "[jit][blocks]")
{
    for (Format f : block_formats)
        for (Isa isa : block_isas())
            for (u8 rows = 1; rows <= 12; rows = static_cast<u8>(rows < 5 ? rows + 1 : rows + 3))
                for (u8 unroll : { 1, 3 })
                    for (u8 flags : { u8(0), variant::vnni, u8(variant::vnni | variant::prefetch_nta), variant::stripes,
                             u8(variant::stripes | variant::vnni), u8(variant::vnni | variant::gfni),
                             u8(variant::stripes | variant::vnni | variant::gfni) }) {
                        const u32 blocks = block_of(f) == 32 ? 23 : 7;
                        const u32 n = blocks * block_of(f);
                        KernelConfig config = default_config(Op { OpKind::Matmul, f }, shape_of(n, 19, 5), isa);
                        config.rows = rows;
                        config.tokens = static_cast<u8>(1 + rows % 4);
                        config.unroll = unroll;
                        config.flags = flags;
                        config.prefetch = (flags & variant::prefetch_nta) ? 512 : 0;
                        if (validate(config).is_error() || !runnable(config))
                            continue;
                        expect_ok(config, MatrixCase { n, 19, 5, 0, 1, 18, Flush::End, 0, rows * 10ull + unroll }, rows % 3 == 0);
                    }
}

TEST_CASE("Block formats: random shapes, row ranges, misaligned rows, extreme scales", "[jit][blocks]")
{
    Rng rng(77);
    for (Format f : block_formats)
        for (Isa isa : block_isas())
            for (int i = 0; i < 10; ++i) {
                const u32 n = block_of(f) * (1 + rng.below(block_of(f) == 32 ? 160 : 24));
                const u32 d = 1 + rng.below(i < 5 ? 40 : 300);
                const u32 t = i % 3 == 0 ? 1 + rng.below(6) : 1;
                const u64 begin = rng.below(d);
                const u64 end = begin + rng.below(static_cast<u32>(d - begin) + 1);
                const Op op { t > 1 ? OpKind::Matmul : OpKind::Matvec, f };
                const KernelConfig config = varied_config(op, shape_of(n, d, t), isa, 300 + i);
                expect_ok(config, MatrixCase { n, d, t, 0, begin, end, i % 2 ? Flush::Start : Flush::End, 4u * rng.below(16), 900ull + i },
                    i % 2 == 0);
            }
}

TEST_CASE("Block formats: stripes split every row range exactly", "[jit][blocks]")
{
    for (Format f : block_formats)
        for (Isa isa : block_isas())
            for (u8 stripes : { 2, 3, 4 }) {
                const u32 n = 5 * block_of(f);
                KernelConfig config = default_config(Op { OpKind::Matvec, f }, shape_of(n, 33), isa);
                config.rows = stripes;
                config.flags = variant::stripes;
                if (isa == Isa::Avx512 && host_caps().avx512vnni)
                    config.flags |= variant::vnni;
                if (validate(config).is_error() || !runnable(config))
                    continue;
                expect_ok(config, MatrixCase { n, 33, 1, 0, 20, 3 });  // inverted: nothing
                for (u64 begin = 0; begin < 33; begin += 7)
                    for (u64 end = begin; end <= 33; end += 5)
                        expect_ok(config, MatrixCase { n, 33, 1, 0, begin, end, Flush::End, 0, begin * 40 + end });
            }
}

TEST_CASE("Block formats: the real model shapes with the autotuning candidates", "[jit][blocks]")
{
    // stories110M (768, 2048), TinyLlama-1.1B (2048, 256, 5632, 32000); K formats need n a
    // multiple of 256, so stories15M's 288 runs Q4_0 / Q8_0 only.
    // (The classifier's 32000 rows only for Q6_K, which Q4_K_M files use there; prefill's
    // 7 tokens on the smaller shapes.)
    static constexpr u32 shapes[][2] = { { 288, 768 }, { 768, 288 }, { 768, 768 }, { 768, 2048 }, { 2048, 768 }, { 2048, 256 },
        { 2048, 2048 }, { 2048, 5632 }, { 5632, 2048 }, { 2048, 32000 } };
    for (Format f : block_formats)
        for (Isa isa : block_isas())
            for (const auto& s : shapes) {
                if (s[0] % block_of(f) != 0 || (s[1] == 32000 && f != Format::Q6_K))
                    continue;
                for (u32 t : { 1u, 7u }) {
                    if (t > 1 && static_cast<u64>(s[0]) * s[1] > 2'000'000)
                        continue;
                    const Op op { t > 1 ? OpKind::Matmul : OpKind::Matvec, f };
                    KernelConfig configs[max_candidates];
                    const usize count = candidate_configs(op, shape_of(s[0], s[1], t), isa, host_caps(), configs, max_candidates);
                    REQUIRE(count >= 1);
                    // Big matrices: two windows of rows (the first and the last), each
                    // input made once for all the candidates.
                    const bool big = static_cast<u64>(s[0]) * s[1] * t > 1'000'000;
                    const MatrixCase windows[2] = { { s[0], s[1], t, 0, 0, big ? 37u : s[1], Flush::End, 0, s[0] + t },
                        { s[0], s[1], t, 0, s[1] - 41u, s[1], Flush::End, 0, s[1] + t } };
                    for (u32 w = 0; w < (big ? 2u : 1u); ++w) {
                        BlockFixture fixture(f, windows[w]);
                        for (usize i = 0; i < count && i < 6; ++i) {
                            const Verdict v = fixture.check(configs[i]);
                            INFO(describe(configs[i]) << ": " << v.detail);
                            CHECK(v.ok);
                        }
                    }
                }
            }
}

// The AVX-512 VNNI matmul of Q4_K keeps each sub-block's sum of 16 products in an i16 lane
// (gen_blocks_k.cpp: at most 16 * 15 * 127): every nibble 15, every scale and min 63,
// every activation at the largest magnitude, of either sign (Q8_K's values take the sign
// opposite to the block's first largest value: a block of ones quantises to -127s, with
// its first value -1 to 127s).
TEST_CASE("Block formats: Q4_K matmul at the largest integer sums", "[jit][blocks]")
{
    constexpr u32 n = 512, d = 5, t = 5;
    std::vector<BlockQ4_K> w(d * n / 256);
    for (BlockQ4_K& b : w) {
        b.d = f32_to_fp16(1.0f);
        b.dmin = f32_to_fp16(0.5f);
        memset(b.scales, 0xFF, sizeof(b.scales));
        memset(b.qs, 0xFF, sizeof(b.qs));
    }
    for (i8 value : { -127, 127 }) {
        std::vector<float> x(n * t, 1.0f);
        if (value > 0)
            for (u32 i = 0; i < n * t; i += 256)
                x[i] = -1.0f;
        std::vector<BlockQ8_K> xq(t * n / 256);
        format_info(Format::Q8_K).quantize_row(x.data(), xq.data(), n * t);
        REQUIRE(xq[1].qs[1] == value);
        for (Isa isa : block_isas())
            for (u8 tokens : { 1, 2, 3, 4 }) {
                KernelConfig config = default_config(Op { OpKind::Matmul, Format::Q4_K }, shape_of(n, d, t), isa);
                config.tokens = tokens;
                config.flags = isa == Isa::Avx512 && host_caps().avx512vnni ? variant::vnni : 0;
                if (validate(config).is_error())
                    continue;
                auto generated = generate(config);
                REQUIRE_FALSE(generated.is_error());
                GeneratedKernel k = generated.release_value();
                std::vector<float> got(d * t), want(d * t);
                KernelArgs args {};
                args.w = w.data();
                args.x = xq.data();
                args.row_end = d;
                args.n = n;
                args.d = d;
                args.t = t;
                args.out = got.data();
                k.kernel()(&args);
                args.out = want.data();
                format_info(Format::Q4_K).reference(&args);
                INFO(describe(config) << " activations " << int(value));
                CHECK(memcmp(got.data(), want.data(), sizeof(float) * got.size()) == 0);
                CHECK(fabsf(want[0]) > 4e5f);  // about 2 * 256 * 15 * 63, less the mins' term
                release(k);
            }
    }
}

TEST_CASE("Block formats: kernels of every ISA and variant assemble on any host", "[jit][blocks]")
{
    static u8 buffer[1 << 17];
    for (Format f : block_formats)
        for (Isa isa : { Isa::Avx2, Isa::Avx512 })
            for (u8 flags : { u8(0), variant::vnni })
                for (u32 blocks : { 1u, 5u, 30u }) {
                    KernelConfig config = default_config(Op { OpKind::Matmul, f }, shape_of(blocks * block_of(f), 7, 3), isa);
                    config.flags = flags;
                    if (validate(config).is_error())
                        continue;
                    INFO(describe(config));
                    auto size = emit_bytes(config, buffer, sizeof(buffer));
                    REQUIRE_FALSE(size.is_error());
                    CHECK(size.value() > 64);
                }
}

TEST_CASE("Block formats: SSE2, shapes off the blocks and Q8_0 on AVX-512 without VNNI are refused", "[jit][blocks]")
{
    for (Format f : block_formats) {
        const Op op { OpKind::Matvec, f };
        CHECK(validate(default_config(op, shape_of(block_of(f) * 4, 8), Isa::Sse2)).is_error());
        CHECK(validate(default_config(op, shape_of(block_of(f) * 4 + 16, 8), Isa::Avx2)).is_error());
        CHECK_FALSE(validate(default_config(op, shape_of(block_of(f) * 4, 8), Isa::Avx2)).is_error());
    }
    KernelConfig q8 = default_config(Op { OpKind::Matvec, Format::Q8_0 }, shape_of(256, 8), Isa::Avx512);
    q8.rows = 4;
    CHECK(validate(q8).is_error());
    q8.flags = variant::vnni;
    CHECK_FALSE(validate(q8).is_error());
}
