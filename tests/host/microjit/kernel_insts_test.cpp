// The instructions the kernel can emit, as scripts/kernel-insts reads them from the sources
// (build/gen/kernel_insts.inc), against those the generators do emit. The kernel image keeps
// asmjit's table entries for the listed instructions only (boot/tools/prune-asmjit.main.cpp),
// so an instruction missing from the list would make the kernel's generator fail (its
// assembler refuses pruned ids: mjit::Assembler) where the host's succeeds.
//
// Every kernel the candidate lists produce is generated with an observer on the assembler:
// every op and format, the three ISAs on a CPU with and without AVX-512 VNNI (and with
// ERMS, so the rep movsb copies are among them), weights cached and streamed, shapes with
// odd row, token and block tails.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "microjit/candidates.h"
#include "microjit/emitter.h"
#include "tests/host/microjit/jit_test_support.h"

using namespace mjit;
using namespace mjit::test;

namespace {

constexpr asmjit::InstId kernel_insts[] = {
#include "kernel_insts.inc"
};

// A CPU with everything the generators can use, VNNI and GFNI or neither.
CpuCaps every_feature(bool vnni)
{
    CpuCaps caps;
    caps.best = Isa::Avx512;
    caps.ssse3 = caps.avx512bw = caps.avx512vl = caps.f16c = caps.erms = caps.fsrm = true;
    caps.avx512vnni = caps.gfni = vnni;
    return caps;
}

// Shapes of `op`: one, a few and an odd number of blocks (groups for Q8G; for F32 and the
// halves, values that leave vector tails), d and t that leave tails after every
// rows/tokens-in-flight blocking.
std::vector<Shape> shapes_of(Op op)
{
    std::vector<Shape> shapes;
    if (op.kind == OpKind::Copy) {
        for (u32 bytes : { 1u, 37u, 4099u, 300001u })
            shapes.push_back(shape_of(bytes, 1, 1));
        return shapes;
    }
    const u32 block = format_info(op.format).block_values;
    for (u32 gs : is_q8g(op) ? std::vector<u32> { 4, 32, 64 } : std::vector<u32> { 0 })
        for (u32 blocks : { 1u, 3u, 9u }) {
            // F32 and the halves: n = 5 (odd), 18, 54 (the halves need even n).
            const u32 n = is_q8g(op) ? blocks * gs : block == 1 ? (blocks == 1 ? 5 : 6 * blocks) : blocks * block;
            if (op.kind == OpKind::Quantize) {
                for (u32 t : { 1u, 3u })
                    shapes.push_back(shape_of(n, blocks, t, gs));
                continue;
            }
            for (u32 d : { 1u, 13u })
                shapes.push_back(shape_of(n, d, op.kind == OpKind::Matmul ? 5 : 1, gs));
        }
    return shapes;
}

std::vector<Op> every_op()
{
    std::vector<Op> ops { ops::copy };
    for (int f = 0; f < format_count; ++f)
        for (OpKind kind : { OpKind::Matvec, OpKind::Matmul, OpKind::Quantize })
            ops.push_back(Op { kind, static_cast<Format>(f) });
    return ops;
}

// Every instruction emitted, with the first kernel that emitted it.
struct Emitted {
    std::map<asmjit::InstId, std::string> first;
    std::string kernel;
};

void record(void* context, asmjit::InstId id)
{
    auto* emitted = static_cast<Emitted*>(context);
    emitted->first.emplace(id, emitted->kernel);
}

std::string inst_name(asmjit::InstId id)
{
    asmjit::String name;
    asmjit::InstAPI::instIdToString(asmjit::Arch::kX64, id, name);
    return name.data();
}

}

TEST_CASE("kernel instructions: every candidate kernel emits only instructions the kernel's tables keep", "[jit][insts]")
{
    static u8 code[1 << 18];
    Emitted emitted;
    std::set<std::string> generated;
    set_inst_observer(record, &emitted);
    for (bool vnni : { false, true })
        for (Isa isa : all_isas())
            for (Op op : every_op())
                for (const Shape& shape : shapes_of(op))
                    for (bool streamed : { false, true }) {
                        KernelConfig configs[max_candidates];
                        const usize count = candidate_configs(op, shape, isa, every_feature(vnni), configs, max_candidates, streamed);
                        for (usize i = 0; i < count; ++i) {
                            emitted.kernel = describe(configs[i]);
                            if (!generated.insert(emitted.kernel).second)
                                continue;
                            auto size = emit_bytes(configs[i], code, sizeof(code));
                            INFO(emitted.kernel);
                            REQUIRE_FALSE(size.is_error());
                        }
                    }
    set_inst_observer(nullptr, nullptr);

    // The sweep must reach every generator family and variant, or it proves little.
    INFO(generated.size() << " kernels generated");
    CHECK(generated.size() > 1000);
    auto some = [&](const char* prefix, const char* variant) {
        for (const std::string& name : generated)
            if (name.rfind(prefix, 0) == 0 && name.find(variant) != std::string::npos)
                return true;
        return false;
    };
    const char* families[][2] = { { "matvec_f32_sse2_", "_st" }, { "matmul_f32_avx512_", "_pf" },
        { "matvec_q8_avx512_", "_vnni" }, { "matmul_q4_0_avx512_", "_gfni" }, { "matmul_q8_sse2_", "_gs4_" }, { "matvec_q4_0_avx2_", "_pf" },
        { "matmul_q4_k_avx512_", "_vnni" }, { "matvec_q6_k_avx512_", "_r" }, { "matmul_bf16_avx2_", "_t5_" },
        { "matvec_f16_avx512_", "_r" }, { "quantize_q8_k_avx2_", "_n" }, { "quantize_q8_avx512_", "_gs64" },
        { "copy_sse2_", "_nt" }, { "copy_avx2_", "_rep" } };
    for (const auto& family : families) {
        INFO(family[0] << "*" << family[1] << "*");
        CHECK(some(family[0], family[1]));
    }

    // The observer saw the instructions (the list is a superset: comments and variants no
    // candidate takes, such as prefetchnta, count too).
    const std::set<asmjit::InstId> listed(std::begin(kernel_insts), std::end(kernel_insts));
    INFO(emitted.first.size() << " instructions emitted, " << listed.size() << " listed");
    CHECK(emitted.first.size() >= 100);
    for (const auto& [id, kernel] : emitted.first) {
        INFO(inst_name(id) << " (asmjit id " << id << "), first emitted by " << kernel
             << ", is not in build/gen/kernel_insts.inc: scripts/kernel-insts did not see it in the sources, so the "
                "kernel image prunes it and that generator would fail there");
        CHECK(listed.count(id) == 1);
    }
}
