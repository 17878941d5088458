// The JIT's helper kernels: the Q8_0 activation quantizer (bit-identical to the reference)
// and fixed-size copies (byte-exact, never outside the buffers).
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <string.h>
#include <vector>

#include "microjit/reference.h"
#include "tests/host/microjit/jit_test_support.h"

using namespace mjit;
using namespace mjit::test;

namespace {

Shape quantize_shape(u32 n, u32 gs, u32 t = 1)
{
    Shape s;
    s.n = n;
    s.gs = gs;
    s.d = n / gs;
    s.t = t;
    return s;
}

// Runs a quantizer kernel over groups [begin, end) of every token (KernelArgs, op quantize).
void quantize(const GeneratedKernel& k, const float* x, i8* q, float* scales, u64 begin, u64 end)
{
    KernelArgs args {};
    args.x = x;
    args.out = q;
    args.out_scale = scales;
    args.row_begin = begin;
    args.row_end = end;
    args.n = k.config.shape.n;
    args.d = k.config.shape.d;
    args.t = k.config.shape.t;
    args.gs = k.config.shape.gs;
    k.kernel()(&args);
}

void copy(const GeneratedKernel& k, void* dst, const void* src)
{
    KernelArgs args {};
    args.out = dst;
    args.x = src;
    args.row_end = 1;
    args.n = k.config.shape.n;
    args.d = args.t = 1;
    k.kernel()(&args);
}

// Inputs that hit every rounding case: exact halves after the division (+-0.5, +-1.5, ...),
// values just beside them, zeros (a whole zero group: scale 0), negative zero, and
// ordinary random values of mixed magnitude.
void fill_quantizer_input(float* x, u32 n, u32 gs, Rng& rng)
{
    for (u32 g = 0; g < n / gs; ++g) {
        float* xg = x + g * gs;
        const u32 kind = rng.below(5);
        const float scale = rng.uniform(0.01f, 3.0f);
        for (u32 i = 0; i < gs; ++i) {
            switch (kind) {
            case 0: xg[i] = 0.0f; break;
            case 1: xg[i] = (i % 2 ? -0.0f : 0.0f); break;
            case 2: xg[i] = scale * (static_cast<float>(rng.below(255)) - 127.0f + 0.5f) / 127.0f; break;
            case 3: xg[i] = rng.uniform(-scale, scale) * (rng.below(4) == 0 ? 1e-3f : 1.0f); break;
            default: xg[i] = rng.uniform(-scale, scale); break;
            }
        }
        // Pin the group maximum so that x / scale lands on exact halves often.
        if (kind >= 2)
            xg[rng.below(gs)] = rng.below(2) ? scale : -scale;
    }
}

}

TEST_CASE("quantizer: bit-identical to ref::quantize_q8 for every group size and ISA", "[jit][quantize]")
{
    Rng rng(2024);
    for (Isa isa : runnable_isas()) {
        u64 checked = 0;
        for (u32 gs : { 4u, 8u, 12u, 16u, 20u, 32u, 48u, 64u, 128u })
            for (u32 groups : { 1u, 2u, 3u, 5u, 17u, 43u, 88u }) {
                const u32 n = gs * groups;
                const KernelConfig config = default_config(ops::quantize_q8, quantize_shape(n, gs), isa);
                auto generated = generate(config);
                INFO(describe(config));
                REQUIRE_FALSE(generated.is_error());
                GeneratedKernel k = generated.release_value();
                GuardedBuffer x(n * 4), q(n), s(groups * 4);
                std::vector<i8> q_ref(n);
                std::vector<float> s_ref(groups);
                for (int round = 0; round < 4; ++round) {
                    fill_quantizer_input(x.as<float>(), n, gs, rng);
                    ref::quantize_q8(x.as<float>(), q_ref.data(), s_ref.data(), n, gs);
                    quantize(k, x.as<float>(), q.as<i8>(), s.as<float>(), 0, groups);
                    for (u32 g = 0; g < groups; ++g)
                        if (memcmp(&s.as<float>()[g], &s_ref[g], 4) != 0)
                            FAIL_CHECK("scale of group " << g << ": " << s.as<float>()[g] << " vs " << s_ref[g]);
                    for (u32 i = 0; i < n; ++i)
                        if (q.as<i8>()[i] != q_ref[i])
                            FAIL_CHECK("q[" << i << "] = " << int(q.as<i8>()[i]) << ", reference " << int(q_ref[i]) << " (x = "
                                            << x.as<float>()[i] << ", scale " << s_ref[i / gs] << ")");
                    ++checked;
                }
                release(k);
            }
        CHECK(checked == 9 * 7 * 4);
    }
}

TEST_CASE("quantizer: stories-sized vectors, against the formats.md rule directly", "[jit][quantize]")
{
    // Independent of the reference: recompute round-half-away-from-zero in double.
    Rng rng(7);
    for (Isa isa : runnable_isas())
        for (u32 gs : { 4u, 32u, 64u }) {
            const u32 n = 5632;
            auto generated = generate(default_config(ops::quantize_q8, quantize_shape(n, gs), isa));
            REQUIRE_FALSE(generated.is_error());
            GeneratedKernel k = generated.release_value();
            GuardedBuffer x(n * 4), q(n), s(n / gs * 4);
            fill_quantizer_input(x.as<float>(), n, gs, rng);
            quantize(k, x.as<float>(), q.as<i8>(), s.as<float>(), 0, n / gs);
            for (u32 g = 0; g < n / gs; ++g) {
                float max = 0;
                for (u32 i = 0; i < gs; ++i)
                    max = std::max(max, std::fabs(x.as<float>()[g * gs + i]));
                const float scale = max / 127.0f;
                REQUIRE(s.as<float>()[g] == scale);
                for (u32 i = 0; i < gs; ++i) {
                    const float v = scale == 0 ? 0.0f : x.as<float>()[g * gs + i] / scale;
                    const double r = v < 0 ? -std::floor(-static_cast<double>(v) + 0.5) : std::floor(static_cast<double>(v) + 0.5);
                    if (q.as<i8>()[g * gs + i] != static_cast<int>(r))
                        FAIL_CHECK(describe(k.config) << " q[" << g * gs + i << "]: " << int(q.as<i8>()[g * gs + i]) << " vs " << r);
                }
            }
            release(k);
        }
}

TEST_CASE("quantizer: several tokens and group sub-ranges (split across cores) write only their groups", "[jit][quantize]")
{
    Rng rng(99);
    for (Isa isa : runnable_isas())
        for (u32 gs : { 4u, 32u, 64u }) {
            const u32 groups = 37, n = gs * groups, t = 3;
            auto generated = generate(default_config(ops::quantize_q8, quantize_shape(n, gs, t), isa));
            REQUIRE_FALSE(generated.is_error());
            GeneratedKernel k = generated.release_value();
            GuardedBuffer x(t * n * 4), q(t * n), s(t * groups * 4);
            fill_quantizer_input(x.as<float>(), t * n, gs, rng);
            std::vector<i8> q_ref(t * n);
            std::vector<float> s_ref(t * groups);
            ref::quantize_q8(x.as<float>(), q_ref.data(), s_ref.data(), t * n, gs);
            for (auto range : { std::pair<u64, u64> { 0, groups }, { 5, 19 }, { 36, 37 }, { 7, 7 } }) {
                memset(q.as<i8>(), 0x55, t * n);
                memset(s.as<float>(), 0x55, t * groups * 4);
                quantize(k, x.as<float>(), q.as<i8>(), s.as<float>(), range.first, range.second);
                for (u32 tok = 0; tok < t; ++tok)
                    for (u32 g = 0; g < groups; ++g) {
                        const bool inside = g >= range.first && g < range.second;
                        const u32 at = tok * groups + g;
                        if (inside)
                            CHECK(memcmp(&s.as<float>()[at], &s_ref[at], 4) == 0);
                        else
                            CHECK(reinterpret_cast<const u32*>(s.as<float>())[at] == 0x55555555u);
                        for (u32 i = 0; i < gs; ++i)
                            CHECK(q.as<i8>()[at * gs + i] == (inside ? q_ref[at * gs + i] : i8(0x55)));
                    }
            }
            release(k);
        }
}

TEST_CASE("copy: every size 1..300 and larger ones, aligned and not, both guard sides", "[jit][copy]")
{
    Rng rng(5);
    std::vector<u32> sizes;
    for (u32 n = 1; n <= 300; ++n)
        sizes.push_back(n);
    for (u32 n : { 511u, 512u, 1000u, 1024u, 1152u, 4095u, 4096u, 65536u + 13, 1u << 20 })
        sizes.push_back(n);
    for (Isa isa : runnable_isas())
        for (u32 n : sizes)
            for (u8 flags : { u8(0), variant::aligned, variant::rep_movsb, variant::nontemporal }) {
                Shape shape;
                shape.n = n;
                shape.d = 1;
                KernelConfig config = default_config(ops::copy, shape, isa);
                config.flags = flags;
                if ((flags & variant::nontemporal) && n < 4 * vector_bytes(isa)) {
                    CHECK(validate(config).is_error());  // streaming stores need four vectors
                    continue;
                }
                auto generated = generate(config);
                INFO(describe(config));
                REQUIRE_FALSE(generated.is_error());
                GeneratedKernel k = generated.release_value();
                // Aligned copies get page-aligned buffers (Flush::Start); the others end on
                // the guard page (and start wherever that puts them).
                const Flush flush = (flags & variant::aligned) ? Flush::Start : Flush::End;
                GuardedBuffer src(n, flush), dst(n, n % 2 ? Flush::Start : flush);
                for (u32 i = 0; i < n; ++i)
                    src.as<u8>()[i] = static_cast<u8>(rng.next());
                memset(dst.as<u8>(), 0xA5, n);
                copy(k, dst.as<u8>(), src.as<u8>());
                CHECK(memcmp(dst.as<u8>(), src.as<u8>(), n) == 0);
                release(k);
            }
}

namespace {

// Runs a block quantizer kernel (or its reference) over blocks [begin, end) of every token.
void quantize_blocks(KernelFn fn, Format f, const float* x, void* out, u32 n, u32 t, u64 begin, u64 end)
{
    KernelArgs args {};
    args.x = x;
    args.out = out;
    args.row_begin = begin;
    args.row_end = end;
    args.n = n;
    args.d = n / format_info(f).block_values;
    args.t = t;
    fn(&args);
}

// Values where the block quantizers' rules matter: exact halves after the scaling (Q8_0's
// id = 127 / amax and Q8_K's iscale = -127 / max land on them when the block's largest
// magnitude is 127), the largest magnitude twice with both signs (Q8_K takes the first),
// zero blocks, negative zeros, mixed magnitudes.
void fill_block_input(float* x, u32 n, u32 block, Rng& rng)
{
    fill_quantizer_input(x, n, block, rng);
    for (u32 b = 0; b < n / block; ++b) {
        float* xb = x + b * block;
        switch (rng.below(4)) {
        case 0:
            for (u32 i = 0; i < block; ++i)
                xb[i] = static_cast<float>(static_cast<int>(rng.below(254)) - 127) + 0.5f;
            xb[rng.below(block)] = rng.below(2) ? 127.0f : -127.0f;
            break;
        case 1: {
            const float m = rng.uniform(0.1f, 9.0f);
            xb[rng.below(block / 2)] = -m;
            xb[block / 2 + rng.below(block / 2)] = m;
            break;
        }
        default: break;
        }
    }
}

}

TEST_CASE("block quantizers: Q8_0 and Q8_K bit-identical to the reference kernels, row ranges, tokens, every ISA",
    "[jit][quantize]")
{
    Rng rng(23);
    for (Format f : { Format::Q8_0, Format::Q8_K })
        for (Isa isa : runnable_isas()) {
            if (isa == Isa::Sse2)
                continue;
            const u32 block = format_info(f).block_values;
            for (u32 blocks : { 1u, 2u, 3u, 8u, 22u })
                for (u32 t : { 1u, 3u }) {
                    const u32 n = blocks * block;
                    Shape s;
                    s.n = n;
                    s.d = blocks;
                    s.t = t;
                    const KernelConfig config = default_config(Op { OpKind::Quantize, f }, s, isa);
                    INFO(describe(config));
                    auto k = generate(config);
                    REQUIRE_FALSE(k.is_error());
                    const u64 bytes = weight_row_bytes(f, n) * t;
                    GuardedBuffer x(static_cast<size_t>(n) * t * 4), got(bytes), want(bytes);
                    fill_block_input(x.as<float>(), n * t, block, rng);
                    const u64 begin = blocks > 2 ? 1 : 0, end = blocks > 2 ? blocks - 1 : blocks;
                    memset(got.as<u8>(), 0xA5, bytes);
                    memset(want.as<u8>(), 0xA5, bytes);
                    quantize_blocks(k.value().kernel(), f, x.as<float>(), got.as<u8>(), n, t, begin, end);
                    quantize_blocks(ref::kernel_for(Op { OpKind::Quantize, f }), f, x.as<float>(), want.as<u8>(), n, t, begin, end);
                    CHECK(memcmp(got.as<u8>(), want.as<u8>(), bytes) == 0);
                    GeneratedKernel gk = k.release_value();
                    release(gk);
                }
        }
}

TEST_CASE("block quantizers: SSE2 is left to the reference", "[jit][quantize]")
{
    for (Format f : { Format::Q8_0, Format::Q8_K }) {
        Shape s;
        s.n = 256;
        s.d = 256 / format_info(f).block_values;
        CHECK(validate(default_config(Op { OpKind::Quantize, f }, s, Isa::Sse2)).is_error());
        CHECK_FALSE(validate(default_config(Op { OpKind::Quantize, f }, s, Isa::Avx2)).is_error());
    }
}
