// F16 and BF16 matvec/matmul kernels (the fp32 generator with converting loads): every
// output bit-identical to ref::matmul_f16 / matmul_bf16 on every ISA the host runs, odd
// shapes (n not a multiple of the vector, of 16, of 32), tokens, rows in flight, stripes,
// row ranges, guard pages; SSE2 and odd n are refused (the reference serves them).
#include <catch2/catch.hpp>

#include "microjit/candidates.h"
#include "tests/host/microjit/jit_test_support.h"

using namespace mjit;
using namespace mjit::test;

namespace {

constexpr Format half_formats[] = { Format::F16, Format::BF16 };

void expect_ok(const KernelConfig& config, const MatrixCase& c, bool extreme = false)
{
    const Verdict v = run_matrix_case(config, c, extreme);
    INFO(describe(config) << " rows [" << c.row_begin << ", " << c.row_end << "): " << v.detail);
    CHECK(v.ok);
}

std::vector<Isa> half_isas()
{
    std::vector<Isa> isas;
    for (Isa isa : runnable_isas())
        if (isa != Isa::Sse2)
            isas.push_back(isa);
    if (isas.empty() || isas.back() != Isa::Avx512)
        WARN("SKIPPED: f16/bf16 kernels on avx512: this CPU (or MJIT_TEST_ISA) lacks it");
    return isas;
}

}

TEST_CASE("F16/BF16 matvec: small and odd shapes, every variant, every ISA", "[jit][halves]")
{
    for (Format f : half_formats)
        for (Isa isa : half_isas())
            for (u32 n = 2; n <= 90; n += (n < 40 ? 2 : 14))
                for (u32 d = 1; d <= 11; d += 3) {
                    const Op op { OpKind::Matvec, f };
                    const KernelConfig config = varied_config(op, shape_of(n, d), isa, n * 7 + d);
                    INFO(describe(config));
                    expect_ok(config, MatrixCase { n, d, 1, 0, 0, d, Flush::End, 0, n * 131ull + d }, n % 6 == 0);
                }
}

TEST_CASE("F16/BF16 matmul: tokens in flight, row ranges, misaligned rows", "[jit][halves]")
{
    Rng rng(5);
    for (Format f : half_formats)
        for (Isa isa : half_isas())
            for (int i = 0; i < 12; ++i) {
                const u32 n = 2 * (1 + rng.below(700)), d = 1 + rng.below(40), t = 1 + rng.below(6);
                const u64 begin = rng.below(d), end = begin + rng.below(static_cast<u32>(d - begin) + 1);
                const Op op { t > 1 ? OpKind::Matmul : OpKind::Matvec, f };
                const KernelConfig config = varied_config(op, shape_of(n, d, t), isa, i);
                INFO(describe(config));
                expect_ok(config, MatrixCase { n, d, t, 0, begin, end, i % 2 ? Flush::Start : Flush::End, 4u * rng.below(8), 40ull + i });
            }
}

TEST_CASE("F16/BF16: the autotuning candidates of real shapes", "[jit][halves]")
{
    static constexpr u32 shapes[][2] = { { 64, 172 }, { 288, 768 }, { 768, 288 }, { 2048, 256 }, { 2048, 2048 } };
    for (Format f : half_formats)
        for (Isa isa : half_isas())
            for (const auto& s : shapes) {
                const Op op { OpKind::Matvec, f };
                KernelConfig configs[max_candidates];
                const usize count = candidate_configs(op, shape_of(s[0], s[1]), isa, host_caps(), configs, max_candidates);
                REQUIRE(count >= 1);
                for (usize i = 0; i < count && i < 4; ++i)
                    expect_ok(configs[i], MatrixCase { s[0], s[1], 1, 0, 0, s[1], Flush::End, 0, s[0] + i });
            }
}

TEST_CASE("F16/BF16: SSE2 and odd n are left to the reference", "[jit][halves]")
{
    for (Format f : half_formats) {
        const Op op { OpKind::Matvec, f };
        CHECK(validate(default_config(op, shape_of(64, 8), Isa::Sse2)).is_error());
        CHECK(validate(default_config(op, shape_of(63, 8), Isa::Avx2)).is_error());
        CHECK_FALSE(validate(default_config(op, shape_of(64, 8), Isa::Avx2)).is_error());
    }
}
