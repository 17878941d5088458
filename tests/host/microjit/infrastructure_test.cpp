// The micro-JIT's plumbing: W^X executable memory, ISA selection and caps, config names
// and checks, autotuning candidates, asmjit error handling, dumps.
#include <catch2/catch.hpp>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "microjit/candidates.h"
#include "microjit/dump_file.h"
#include "microjit/emitter.h"
#include "microjit/exec_memory.h"
#include "tests/host/microjit/jit_test_support.h"

using namespace mjit;
using namespace mjit::test;

namespace {

// Runs `fn` in a child process; returns the signal that killed it (0 if it exited).
template<typename F>
int signal_of_child(F fn)
{
    fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        // Die of the signal quietly: Catch's own handlers would report a failure.
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

// An emitter that deliberately encodes an invalid instruction (an immediate where a
// register must be): asmjit's error must surface as ErrorCode::JitEmit.
class BrokenEmitter final : public Emitter {
public:
    explicit BrokenEmitter(const KernelConfig& c) : Emitter(c) {}

private:
    void generate() override
    {
        as().emit(x86::Inst::kIdVaddps, x86::ymm0, x86::ymm1, asmjit::Imm(3));
        as().ret();
    }
};

// An emitter that asks for more vector registers than exist.
class GreedyEmitter final : public Emitter {
public:
    explicit GreedyEmitter(const KernelConfig& c) : Emitter(c) {}

private:
    void generate() override
    {
        for (int i = 0; i < 40; ++i)
            v_zero(new_vec());
        epilogue();
    }
};

}

TEST_CASE("exec memory: RW until sealed, then RX and never writable", "[jit][exec]")
{
    auto block = exec_allocate(100);
    REQUIRE_FALSE(block.is_error());
    ExecBlock b = block.release_value();
    CHECK(b.size >= 100);
    CHECK(b.size % 4096 == 0);
    CHECK(reinterpret_cast<uintptr_t>(b.base) % 4096 == 0);
    CHECK(b.base[0] == 0);
    // mov eax, 42; ret
    const u8 code[] = { 0xB8, 42, 0, 0, 0, 0xC3 };
    memcpy(b.base, code, sizeof(code));
    // Not executable before sealing.
    CHECK(signal_of_child([&] { reinterpret_cast<int (*)()>(b.base)(); }) == SIGSEGV);
    REQUIRE_FALSE(exec_seal(b).is_error());
    CHECK(reinterpret_cast<int (*)()>(b.base)() == 42);
    // Not writable after sealing.
    CHECK(signal_of_child([&] { b.base[0] = 0xC3; }) == SIGSEGV);
    auto again = exec_seal(b);
    REQUIRE(again.is_error());
    CHECK(again.error().code() == kl::ErrorCode::InvalidArgument);
    exec_free(b);
    CHECK(b.base == nullptr);
    exec_free(b);  // a no-op on an empty block
    CHECK(exec_allocate(0).is_error());
}

TEST_CASE("ISA: parsing, caps and the cap override", "[jit][isa]")
{
    CHECK(parse_isa("sse2").value() == Isa::Sse2);
    CHECK(parse_isa("avx2").value() == Isa::Avx2);
    CHECK(parse_isa("avx512").value() == Isa::Avx512);
    auto bad = parse_isa("avx3");
    REQUIRE(bad.is_error());
    CHECK(bad.error().code() == kl::ErrorCode::SettingsBadValue);
    CHECK(strstr(bad.error().message(), "avx3") != nullptr);

    kl::cpu::Features f {};
    f.sse2 = f.ssse3 = true;
    f.avx2_usable = f.avx_usable = true;
    f.avx512_usable = true;
    f.avx512f = true;
    CHECK(caps_from(f).best == Isa::Avx2);  // no BW/VL: the AVX2 kernels serve
    f.avx512bw = f.avx512vl = true;
    CHECK(caps_from(f).best == Isa::Avx512);
    CHECK_FALSE(caps_from(f).avx512vnni);
    f.gfni = true;
    CHECK_FALSE(caps_from(f).gfni);  // the variant's vpermb needs AVX512_VBMI too
    f.avx512vbmi = true;
    CHECK(caps_from(f).gfni);
    f.avx512_usable = false;  // GFNI's zmm form needs the AVX-512 state too
    CHECK_FALSE(caps_from(f).gfni);

    const Isa saved = isa_cap();
    set_isa_cap(Isa::Sse2);
    CHECK(target_isa() == Isa::Sse2);
    set_isa_cap(Isa::Avx512);
    CHECK(target_isa() == host_caps().best);
    set_isa_cap(saved);

    // Code for more than the CPU has is never generated for execution.
    CpuCaps sse_only;
    sse_only.best = Isa::Sse2;
    KernelConfig avx = default_config(ops::matvec_f32, shape_of(64, 64), Isa::Avx2);
    auto refused = check_runnable(avx, sse_only);
    REQUIRE(refused.is_error());
    CHECK(refused.error().code() == kl::ErrorCode::JitUnsupported);
    CpuCaps no_gfni;
    no_gfni.best = Isa::Avx512;
    no_gfni.avx512bw = no_gfni.avx512vl = no_gfni.avx512vnni = true;
    KernelConfig q4 = default_config(Op { OpKind::Matvec, Format::Q4_0 }, shape_of(64, 64), Isa::Avx512);
    q4.flags = variant::vnni | variant::gfni;
    refused = check_runnable(q4, no_gfni);
    REQUIRE(refused.is_error());
    CHECK(strstr(refused.error().message(), "needs GFNI, which this CPU lacks") != nullptr);
    q4.flags = variant::vnni;
    CHECK_FALSE(check_runnable(q4, no_gfni).is_error());
    if (host_caps().best != Isa::Avx512) {
        auto g = generate(default_config(ops::matvec_f32, shape_of(64, 64), Isa::Avx512));
        CHECK(g.is_error());
        WARN("SKIPPED: running avx512 kernels: this CPU lacks AVX-512 (they are still assembled)");
    }
}

TEST_CASE("ISA coverage of this run: what executes and what is only assembled", "[jit][isa]")
{
    const auto runnable = runnable_isas();
    for (Isa isa : all_isas()) {
        bool runs = false;
        for (Isa r : runnable)
            runs |= r == isa;
        if (!runs)
            WARN("SKIPPED: " << kl::cpu::isa_name(isa) << " kernels are assembled but not executed: this CPU (or MJIT_TEST_ISA) lacks "
                             << kl::cpu::isa_name(isa));
    }
    if (runnable.back() == Isa::Avx512 && !host_caps().avx512vnni)
        WARN("SKIPPED: the Q8 vnni variant is assembled but not executed: this CPU lacks AVX-512 VNNI");
    if (runnable.back() == Isa::Avx512 && !host_caps().gfni)
        WARN("SKIPPED: the Q4_0 gfni variant is assembled but not executed: this CPU lacks GFNI");
    // SSE2 is the x86-64 baseline: always there.
    REQUIRE(!runnable.empty());
    CHECK(runnable.front() == Isa::Sse2);
}

TEST_CASE("config: names carry the shape and the variant", "[jit][config]")
{
    char name[96];
    KernelConfig c = default_config(ops::matvec_f32, shape_of(288, 768), Isa::Avx2);
    c.unroll = 2;
    format_config_name(name, sizeof(name), c);
    CHECK(std::string(name) == "matvec_f32_avx2_n288_d768_r4u2");
    c = default_config(ops::matvec_q8, shape_of(288, 768, 1, 32), Isa::Avx512);
    c.flags = variant::vnni;
    c.prefetch = 512;
    format_config_name(name, sizeof(name), c);
    CHECK(std::string(name) == "matvec_q8_avx512_n288_d768_gs32_r4u1_pf512_vnni");
    c = default_config(Op { OpKind::Matvec, Format::Q4_0 }, shape_of(2048, 256), Isa::Avx512);
    c.flags = variant::vnni | variant::gfni | variant::stripes;
    format_config_name(name, sizeof(name), c);
    CHECK(std::string(name) == "matvec_q4_0_avx512_n2048_d256_r4u1_vnni_gfni_st");
    // SSE2 keeps 16 canonical lanes in four xmm per output: one row of two tokens fits.
    c = default_config(ops::matmul_f32, shape_of(64, 172, 8), Isa::Sse2);
    format_config_name(name, sizeof(name), c);
    CHECK(std::string(name) == "matmul_f32_sse2_n64_d172_t8_r1t2u1");
    c = default_config(ops::quantize_q8, shape_of(288, 9, 1, 32), Isa::Avx2);
    format_config_name(name, sizeof(name), c);
    CHECK(std::string(name) == "quantize_q8_avx2_n288_gs32");
    c = default_config(ops::copy, shape_of(4096), Isa::Avx2);
    c.flags = variant::rep_movsb;
    format_config_name(name, sizeof(name), c);
    CHECK(std::string(name) == "copy_avx2_n4096_rep");
    // A tiny buffer truncates, never overflows.
    char tiny[8];
    format_config_name(tiny, sizeof(tiny), c);
    CHECK(strlen(tiny) == 7);
}

TEST_CASE("config: invalid shapes and knobs are refused with a reason", "[jit][config]")
{
    auto refused = [](KernelConfig c, kl::ErrorCode code, const char* words) {
        auto r = validate(c);
        INFO(describe(c));
        REQUIRE(r.is_error());
        CHECK(r.error().code() == code);
        CHECK(strstr(r.error().message(), words) != nullptr);
    };
    KernelConfig q8 = default_config(ops::matvec_q8, shape_of(100, 8, 1, 8), Isa::Avx2);
    refused(q8, kl::ErrorCode::JitUnsupported, "group size");
    q8.shape.gs = 6;
    q8.shape.n = 96;
    refused(q8, kl::ErrorCode::JitUnsupported, "multiple of 4");
    KernelConfig mv = default_config(ops::matvec_f32, shape_of(64, 64, 2), Isa::Avx2);
    refused(mv, kl::ErrorCode::InvalidArgument, "t = 1");
    mv.shape.t = 1;
    mv.rows = 17;
    refused(mv, kl::ErrorCode::InvalidArgument, "rows");
    mv.rows = 8;
    mv.tokens = 2;
    refused(mv, kl::ErrorCode::InvalidArgument, "tokens");
    mv.tokens = 1;
    mv.flags = variant::vnni;
    refused(mv, kl::ErrorCode::InvalidArgument, "vnni");
    KernelConfig q4 = default_config(Op { OpKind::Matvec, Format::Q4_0 }, shape_of(64, 64), Isa::Avx2);
    q4.flags = variant::gfni;
    refused(q4, kl::ErrorCode::InvalidArgument, "gfni variant exists for Q4_0, Q4_K and Q6_K with vnni only");
    KernelConfig q4_k = default_config(Op { OpKind::Matmul, Format::Q4_K }, shape_of(256, 64, 4), Isa::Avx512);
    q4_k.flags = variant::vnni | (1 << 7);  // bit 7 was the grid variant (every AVX-512 K kernel is on the grid now)
    refused(q4_k, kl::ErrorCode::InvalidArgument, "unknown variant flags");
    KernelConfig q8_0 = default_config(Op { OpKind::Matvec, Format::Q8_0 }, shape_of(64, 64), Isa::Avx512);
    q8_0.flags = variant::vnni | variant::gfni;
    refused(q8_0, kl::ErrorCode::InvalidArgument, "gfni");
    mv.flags = 0;
    mv.isa = Isa::Scalar;
    refused(mv, kl::ErrorCode::JitUnsupported, "scalar");
    KernelConfig mm = default_config(ops::matmul_f32, shape_of(64, 64, 8), Isa::Avx2);
    mm.rows = 8;
    mm.tokens = 4;
    refused(mm, kl::ErrorCode::JitUnsupported, "vector registers");
    KernelConfig copy = default_config(ops::copy, shape_of(64), Isa::Avx2);
    copy.rows = 4;
    refused(copy, kl::ErrorCode::InvalidArgument, "must be 1");
}

TEST_CASE("candidates: valid, runnable, distinct, default first", "[jit][config]")
{
    for (Isa isa : runnable_isas())
        for (Op op : { ops::matvec_f32, ops::matmul_f32, ops::matvec_q8, ops::matmul_q8, ops::quantize_q8,
                 ops::copy }) {
            const u32 d = op == ops::quantize_q8 ? 2048 / 64 : op == ops::copy ? 1 : 5632;
            const Shape shape = shape_of(2048, d, op == ops::matmul_f32 || op == ops::matmul_q8 ? 8 : 1,
                is_q8g(op) ? 64 : 0);
            KernelConfig configs[max_candidates];
            const usize count = candidate_configs(op, shape, isa, host_caps(), configs, max_candidates);
            INFO(op_text(op) << " " << kl::cpu::isa_name(isa));
            REQUIRE(count >= 1);
            CHECK(count <= max_candidates);
            for (usize i = 0; i < count; ++i) {
                CHECK_FALSE(validate(configs[i]).is_error());
                CHECK_FALSE(check_runnable(configs[i], host_caps()).is_error());
                for (usize j = 0; j < i; ++j)
                    CHECK_FALSE(configs[i] == configs[j]);
            }
            CHECK(configs[0].isa == isa);
        }
    // A capacity of 1 yields just the default guess.
    KernelConfig one[1];
    CHECK(candidate_configs(ops::matvec_f32, shape_of(288, 288), Isa::Sse2, host_caps(), one, 1) == 1);
}

TEST_CASE("candidates: a small matrix of a model that streams gets the streaming variants", "[jit][config]")
{
    auto streaming = [](bool streamed) {
        KernelConfig configs[max_candidates];
        const usize count = candidate_configs(ops::matvec_f32, shape_of(288, 288), Isa::Avx2, host_caps(), configs,
            max_candidates, streamed);
        int found = 0;
        for (usize i = 0; i < count; ++i)
            found += (configs[i].flags & variant::stripes) || configs[i].prefetch ? 1 : 0;
        return found;
    };
    // 288x288 floats (324 KiB) fit an L2 on their own: no stripes or prefetch ...
    CHECK(streaming(false) == 0);
    // ... unless the caller says the weights come from memory anyway.
    CHECK(streaming(true) >= 3);
}

TEST_CASE("candidates: streamed Q4_0 and Q8_0 matvecs lead with the ways that streamed fastest", "[jit][config]")
{
    const std::vector<Isa> isas = runnable_isas();
    if (isas.empty() || isas.back() != Isa::Avx512 || !host_caps().avx512vnni) {
        WARN("SKIPPED: the streamed block-format candidates on avx512: this CPU lacks AVX-512 VNNI");
        return;
    }
    auto streamed = [](Format f, u32 n, KernelConfig* configs) {
        return candidate_configs(Op { OpKind::Matvec, f }, shape_of(n, 2048), Isa::Avx512, host_caps(), configs, 8, true);
    };
    KernelConfig q4[8], q8[8];
    auto prefetching_stripes = [](const KernelConfig& c) { return c.rows == 4 && (c.flags & variant::stripes) && c.prefetch > 0; };
    // Q4_0: 4-row stripes prefetching each row ahead, then 12 rows with the next 12
    // prefetched (2048 columns: 1152-byte rows), then 8.
    REQUIRE(streamed(Format::Q4_0, 2048, q4) == 8);
    CHECK(prefetching_stripes(q4[0]));
    CHECK(q4[1].rows == 12);
    CHECK(q4[1].prefetch == 12 * 1152);
    CHECK(q4[2].rows == 8);
    CHECK((q4[3].flags & variant::stripes) != 0);
    // Rows too long for a 12-row block to prefetch (5632 columns: 3168 bytes): 8 follow.
    REQUIRE(streamed(Format::Q4_0, 5632, q4) == 8);
    CHECK(prefetching_stripes(q4[0]));
    CHECK(q4[1].rows == 8);
    CHECK(q4[1].prefetch == 8 * 3168);
    // Q8_0: the 256-bit stripes with and without the prefetch, then the 512-bit ones, all
    // within the tuner's first eight.
    REQUIRE(streamed(Format::Q8_0, 2048, q8) == 8);
    CHECK(q8[0].isa == Isa::Avx2);
    CHECK(prefetching_stripes(q8[0]));
    CHECK(q8[1].isa == Isa::Avx2);
    CHECK((q8[1].flags & variant::stripes) != 0);
    CHECK(q8[1].prefetch == 0);
    CHECK(q8[2].isa == Isa::Avx512);
    CHECK(prefetching_stripes(q8[2]));
}

TEST_CASE("errors: asmjit failures and register exhaustion become ErrorOr failures", "[jit][emit]")
{
    const KernelConfig c = default_config(ops::matvec_f32, shape_of(64, 64), Isa::Avx2);
    BrokenEmitter broken(c);
    auto r = broken.assemble();
    REQUIRE(r.is_error());
    CHECK(r.error().code() == kl::ErrorCode::JitEmit);
    CHECK(strstr(r.error().message(), "matvec_f32_avx2_n64_d64") != nullptr);
    CHECK(strstr(r.error().message(), "reference kernel") != nullptr);

    GreedyEmitter greedy(c);
    auto g = greedy.assemble();
    REQUIRE(g.is_error());
    CHECK(g.error().code() == kl::ErrorCode::JitUnsupported);
    CHECK(strstr(g.error().message(), "vector registers") != nullptr);
}

TEST_CASE("dumps: the hook sees every installed kernel; files hold exactly its bytes", "[jit][emit]")
{
    struct Seen {
        std::string name;
        std::vector<u8> bytes;
    } seen;
    set_dump_hook(
        [](void* context, const char* name, const u8* code, usize size) {
            auto* s = static_cast<Seen*>(context);
            s->name = name;
            s->bytes.assign(code, code + size);
        },
        &seen);
    KernelConfig c = default_config(ops::matvec_f32, shape_of(288, 768), runnable_isas().back());
    auto generated = generate(c);
    set_dump_hook(nullptr, nullptr);
    REQUIRE_FALSE(generated.is_error());
    GeneratedKernel k = generated.release_value();
    CHECK(seen.name == k.name);
    REQUIRE(seen.bytes.size() == k.code_size);
    CHECK(memcmp(seen.bytes.data(), k.code(), k.code_size) == 0);

    char dir[] = "/tmp/mjit-dump-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    REQUIRE_FALSE(dump_to_file(dir, k.name, k.code(), k.code_size).is_error());
    const std::string path = std::string(dir) + "/" + k.name + ".bin";
    FILE* f = fopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::vector<u8> file(k.code_size + 1);
    CHECK(fread(file.data(), 1, file.size(), f) == k.code_size);
    fclose(f);
    CHECK(memcmp(file.data(), k.code(), k.code_size) == 0);
    unlink(path.c_str());
    rmdir(dir);
    auto missing = dump_to_file("/nonexistent-dir", k.name, k.code(), k.code_size);
    CHECK(missing.is_error());
    release(k);
}
