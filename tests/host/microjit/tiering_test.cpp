// The tiering state machine, driven with injected candidates: the default kernel installed
// on a sample, the hotness threshold, a verified winner published, and every failure (wrong
// results, a fault, no room in the arena, nothing to generate, slower than the kernel
// serving) keeping the current tier with a reason.
#include <catch2/catch.hpp>

#include <string.h>

#include <string>
#include <vector>

#include "kernel_lib/time/tsc.h"
#include "microjit/dispatch.h"
#include "microjit/reference.h"
#include "microjit/tiering.h"
#include "microjit/verify.h"

using namespace mjit;

namespace {

// Kernels the fake JIT hands out, selected by KernelConfig::unroll.
enum Behaviour : u8 { Correct = 1, Wrong = 2, Faults = 3, Unavailable = 4, Recorded = 5, Lucky = 6, Steady = 7 };

void correct_kernel(const KernelArgs* a) { ref::matmul_f32(a); }

void wrong_kernel(const KernelArgs* a)
{
    ref::matmul_f32(a);
    // One element off by a single ulp: verification demands identical bits.
    float* out = static_cast<float*>(a->out);
    out[a->row_begin] = __builtin_nextafterf(out[a->row_begin], 1e30f);
}

void faulting_kernel(const KernelArgs*) { __builtin_trap(); }

// Correct kernels that note who ran: Recorded configs get recorded_kernel<rows>.
std::vector<int> g_ran;

template<int Id>
void recorded_kernel(const KernelArgs* a)
{
    g_ran.push_back(Id);
    ref::matmul_f32(a);
}

// Correct kernels that take a set time: `lucky` is fast on one call in three and slow on
// the others (its fastest call beats `steady`, its median does not).
void spin_cycles(u64 cycles)
{
    const u64 start = kl::time::rdtsc();
    while (kl::time::rdtsc() - start < cycles) {
    }
}

int g_lucky_calls = 0;

void lucky_kernel(const KernelArgs* a)
{
    ref::matmul_f32(a);
    spin_cycles(++g_lucky_calls % 3 == 0 ? 0 : 8000000);
}

void steady_kernel(const KernelArgs* a)
{
    ref::matmul_f32(a);
    spin_cycles(800000);
}

KernelFn recorded_kernel_for(u32 id)
{
    static constexpr KernelFn kernels[] = { recorded_kernel<0>, recorded_kernel<1>, recorded_kernel<2>, recorded_kernel<3> };
    return kernels[id % 4];
}

struct FakeJit {
    std::vector<KernelConfig> candidates;
    std::vector<KernelConfig> discarded;
    int obtained = 0;

    static kl::ErrorOr<KernelFn> obtain(void* context, const KernelConfig& config)
    {
        auto* self = static_cast<FakeJit*>(context);
        ++self->obtained;
        switch (config.unroll) {
        case Correct: return correct_kernel;
        case Wrong: return wrong_kernel;
        case Faults: return faulting_kernel;
        case Recorded: return recorded_kernel_for(config.rows);
        case Lucky: return lucky_kernel;
        case Steady: return steady_kernel;
        default:
            return kl::Error::make(kl::ErrorCode::JitArenaFull, "JIT code cache: the test budget is used up");
        }
    }
    static void discard(void* context, const KernelConfig& config)
    {
        static_cast<FakeJit*>(context)->discarded.push_back(config);
    }
    static usize list(void* context, Op, Shape, bool, KernelConfig* out, usize capacity)
    {
        auto* self = static_cast<FakeJit*>(context);
        usize n = self->candidates.size() < capacity ? self->candidates.size() : capacity;
        for (usize i = 0; i < n; ++i)
            out[i] = self->candidates[i];
        return n;
    }
    TieringHooks hooks() { return { obtain, discard, list, this }; }
};

KernelConfig candidate(Behaviour b, u8 rows = 1)
{
    KernelConfig c;
    c.op = ops::matvec_f32;
    c.isa = Isa::Avx2;
    c.unroll = b;
    c.rows = rows;
    return c;
}

struct Problem {
    static constexpr u32 n = 64, d = 48;
    std::vector<float> w = std::vector<float>(n * d), x = std::vector<float>(n), out = std::vector<float>(d),
                       expected = std::vector<float>(d);
    KernelArgs args {};
    Problem()
    {
        for (u32 i = 0; i < n * d; ++i)
            w[i] = static_cast<float>((i * 37) % 101) / 101.0f - 0.5f;
        for (u32 j = 0; j < n; ++j)
            x[j] = static_cast<float>(j % 13) / 13.0f - 0.4f;
        args.out = out.data();
        args.w = w.data();
        args.x = x.data();
        args.row_begin = 0;
        args.row_end = d;
        args.n = n;
        args.d = d;
        args.t = 1;
        KernelArgs e = args;
        e.out = expected.data();
        ref::matmul_f32(&e);
    }
    bool output_correct() const { return memcmp(out.data(), expected.data(), d * sizeof(float)) == 0; }
    SampleWeights sample() const { return { w.data(), nullptr }; }
};

TieringOptions quick_options()
{
    TieringOptions o;
    o.hot_calls = 3;
    o.hot_cycles = 0;
    o.tune_calls = 2;
    return o;
}

// A slot of the test problem's shape, on its own tiering (with `jit`'s candidates) and
// dispatcher.
struct Rig {
    Tiering tiering;
    Dispatcher dispatcher;
    KernelSlot* slot;

    Rig(FakeJit& jit, const Problem& p, const TieringOptions& options = quick_options()) : tiering(jit.hooks(), options)
    {
        dispatcher.attach(&tiering);
        slot = dispatcher.slot(ops::matvec_f32, { Problem::n, Problem::d, 1, 0 }, p.sample());
    }
};

// Calls the slot until it settles (or `limit` calls), checking every output on the way.
int run_until_settled(KernelSlot& slot, Problem& p, int limit = 100)
{
    int calls = 0;
    while (!slot.settled && calls < limit) {
        std::fill(p.out.begin(), p.out.end(), -7.0f);
        call(slot, p.args);
        REQUIRE(p.output_correct());
        ++calls;
    }
    return calls;
}

}

TEST_CASE("a hot slot gets the fastest verified candidate; a cold one stays on tier 0", "[jit][tiering]")
{
    FakeJit jit;
    jit.candidates = { candidate(Correct), candidate(Correct) };
    Problem p;
    Rig rig(jit, p);
    KernelSlot* slot = rig.slot;

    // Below the threshold nothing is generated.
    for (int i = 0; i < 2; ++i)
        call(*slot, p.args);
    CHECK(jit.obtained == 0);
    CHECK(slot->tier == Tier::Reference);

    int calls = run_until_settled(*slot, p);
    CHECK(calls > 0);
    REQUIRE(slot->settled);
    // The reference here is the same code as the "generated" kernel, so either may win:
    // what matters is that the decision is recorded and the output stays right.
    if (slot->tier == Tier::Tuned) {
        CHECK(slot->fn != slot->reference);
        CHECK(slot->reason[0] == 0);
        CHECK(jit.discarded.size() == 1);  // the loser
    } else {
        CHECK(std::string(slot->reason).find("no candidate beat the reference") != std::string::npos);
        CHECK(jit.discarded.size() == 2);
    }
    // Settled slots keep producing correct results, sampled for timing.
    for (int i = 0; i < 40; ++i) {
        call(*slot, p.args);
        CHECK(p.output_correct());
    }
    CHECK(slot->ref.calls + slot->jit.calls >= 42u);
}

TEST_CASE("a candidate with wrong results is dropped and tier 0 stays", "[jit][tiering]")
{
    FakeJit jit;
    jit.candidates = { candidate(Wrong) };
    Problem p;
    Rig rig(jit, p);
    KernelSlot* slot = rig.slot;
    run_until_settled(*slot, p);
    REQUIRE(slot->settled);
    CHECK(slot->tier == Tier::Reference);
    CHECK(slot->fn == slot->reference);
    CHECK(std::string(slot->reason).find("mismatch at token 0 row 0") != std::string::npos);
}

TEST_CASE("a candidate that faults is caught by the guard and tier 0 stays", "[jit][tiering]")
{
    FakeJit jit;
    jit.candidates = { candidate(Faults), candidate(Wrong) };
    Problem p;
    Rig rig(jit, p);
    KernelSlot* slot = rig.slot;
    run_until_settled(*slot, p);
    REQUIRE(slot->settled);
    CHECK(slot->tier == Tier::Reference);
    CHECK(std::string(slot->reason).find("fault: invalid opcode (#UD)") != std::string::npos);
}

TEST_CASE("a full code arena falls back to tier 0; a later good candidate still wins over failures",
    "[jit][tiering]")
{
    FakeJit jit;
    jit.candidates = { candidate(Unavailable) };
    Problem p;
    Rig rig(jit, p);
    KernelSlot* slot = rig.slot;
    run_until_settled(*slot, p);
    CHECK(slot->tier == Tier::Reference);
    CHECK(std::string(slot->reason).find("budget is used up") != std::string::npos);

    // Failures before a good candidate do not stop it from being considered.
    FakeJit mixed;
    mixed.candidates = { candidate(Unavailable), candidate(Faults), candidate(Wrong), candidate(Correct) };
    Rig rig2(mixed, p);
    KernelSlot* slot2 = rig2.slot;
    run_until_settled(*slot2, p);
    REQUIRE(slot2->settled);
    // Correct candidate timed; published unless the reference happened to be faster.
    CHECK((slot2->tier == Tier::Tuned || std::string(slot2->reason).find("beat") != std::string::npos));
}

TEST_CASE("no candidates, or the JIT switched off, keep tier 0 and never generate", "[jit][tiering]")
{
    FakeJit none;
    Problem p;
    Rig rig(none, p);
    KernelSlot* slot = rig.slot;
    run_until_settled(*slot, p);
    CHECK(slot->tier == Tier::Reference);
    CHECK(std::string(slot->reason).find("no kernel can be generated") != std::string::npos);

    FakeJit jit;
    jit.candidates = { candidate(Correct) };
    TieringOptions off = quick_options();
    off.enabled = false;
    Rig disabled(jit, p, off);
    KernelSlot* slot2 = disabled.slot;
    for (int i = 0; i < 50; ++i) {
        call(*slot2, p.args);
        CHECK(p.output_correct());
    }
    CHECK(jit.obtained == 0);
    CHECK(slot2->tier == Tier::Reference);
    CHECK(slot2->ref.calls == 50);
    CHECK(slot2->ref.timed_calls < 50);  // sampled, not every call timed
}

TEST_CASE("warm start publishes a verified decision before the first call and refuses a wrong one",
    "[jit][tiering]")
{
    FakeJit jit;
    Problem p;
    Rig rig(jit, p);
    KernelSlot* good = rig.slot;
    REQUIRE_FALSE(rig.tiering.publish_verified(*good, candidate(Correct), Tier::Tuned).is_error());
    CHECK(good->tier == Tier::Tuned);
    CHECK(good->settled);
    CHECK(good->fn == correct_kernel);
    CHECK(good->ref.timed_calls == 1);  // the reference's run on the sample, for the speedup

    KernelSlot* bad = rig.dispatcher.slot(ops::matvec_f32, { Problem::n, Problem::d / 2, 1, 0 }, p.sample());
    auto refused = rig.tiering.publish_verified(*bad, candidate(Wrong), Tier::Tuned);
    REQUIRE(refused.is_error());
    CHECK(refused.error().code() == kl::ErrorCode::JitMismatch);
    CHECK(bad->tier == Tier::Reference);
    CHECK_FALSE(bad->settled);  // it will still tune normally
    CHECK(jit.discarded.size() == 1);

    // No weights to verify on: refused before anything is generated.
    KernelSlot* blind = rig.dispatcher.slot(ops::matvec_f32, { Problem::n, Problem::d / 4, 1, 0 });
    CHECK(rig.tiering.publish_verified(*blind, candidate(Correct), Tier::Tuned).is_error());
    CHECK(blind->tier == Tier::Reference);
}

TEST_CASE("the default kernel serves from the first call; tuning then checks candidates against it",
    "[jit][tiering]")
{
    FakeJit jit;
    jit.candidates = { candidate(Correct), candidate(Wrong), candidate(Correct) };
    jit.candidates[2].rows = 2;  // a distinct correct config
    Problem p;
    Rig rig(jit, p);
    KernelSlot* slot = rig.slot;
    REQUIRE_FALSE(rig.tiering.install_default(*slot).is_error());
    CHECK(slot->tier == Tier::Default);
    CHECK(slot->fn == correct_kernel);
    CHECK(slot->config == jit.candidates[0]);
    CHECK_FALSE(slot->settled);
    CHECK(jit.obtained == 1);

    std::fill(p.out.begin(), p.out.end(), -7.0f);
    call(*slot, p.args);
    CHECK(p.output_correct());
    CHECK(slot->jit.calls == 1);
    CHECK(slot->ref.calls == 0);  // the reference never serves a live call

    run_until_settled(*slot, p);
    REQUIRE(slot->settled);
    CHECK(slot->ref.calls == 0);
    // The default is timed as a candidate without being generated again; the wrong one is
    // dropped (and discarded), the third is generated and timed.
    CHECK(jit.obtained == 3);
    CHECK((slot->tier == Tier::Tuned || slot->tier == Tier::Default));
    if (slot->tier == Tier::Tuned)
        CHECK(slot->config == jit.candidates[2]);

    // With nothing to generate, the default cannot be installed and tier 0 stays.
    FakeJit none;
    Rig empty(none, p);
    KernelSlot* bare = empty.slot;
    CHECK(empty.tiering.install_default(*bare).is_error());
    CHECK(bare->tier == Tier::Reference);
}

TEST_CASE("the contestants take turns on the live calls, as many each, the serving kernel among them",
    "[jit][tiering]")
{
    // The default (1) is a candidate: after the checks, rounds of 1, 2, 3.
    FakeJit jit;
    jit.candidates = { candidate(Recorded, 1), candidate(Recorded, 2), candidate(Recorded, 3) };
    Problem p;
    Rig rig(jit, p);
    KernelSlot* slot = rig.slot;
    REQUIRE_FALSE(rig.tiering.install_default(*slot).is_error());
    g_ran.clear();
    run_until_settled(*slot, p);
    REQUIRE(slot->settled);
    CHECK(jit.obtained == 3);  // the default is not generated again
    const std::vector<int> rounds = { 1, 2, 3, 1, 2, 3 };  // quick_options: two rounds
    REQUIRE(g_ran.size() >= rounds.size());
    CHECK(std::vector<int>(g_ran.end() - 6, g_ran.end()) == rounds);

    // The serving kernel (here a stand-in for the reference, 0) is not a candidate: it takes
    // its turn after them.
    FakeJit other;
    other.candidates = { candidate(Recorded, 2), candidate(Recorded, 3) };
    Rig rig2(other, p);
    KernelSlot* bare = rig2.slot;
    bare->reference = bare->fn = recorded_kernel<0>;
    g_ran.clear();
    run_until_settled(*bare, p);
    REQUIRE(bare->settled);
    const std::vector<int> with_serving = { 2, 3, 0, 2, 3, 0 };
    REQUIRE(g_ran.size() >= with_serving.size());
    CHECK(std::vector<int>(g_ran.end() - 6, g_ran.end()) == with_serving);
}

TEST_CASE("the contest goes by each contestant's median call, not its luckiest", "[jit][tiering]")
{
    FakeJit jit;
    jit.candidates = { candidate(Lucky), candidate(Steady) };
    TieringOptions options = quick_options();
    options.tune_calls = 3;
    Problem p;
    Rig rig(jit, p, options);
    KernelSlot* slot = rig.slot;
    REQUIRE_FALSE(rig.tiering.install_default(*slot).is_error());
    run_until_settled(*slot, p);
    REQUIRE(slot->settled);
    CHECK(slot->tier == Tier::Tuned);
    CHECK(slot->fn == steady_kernel);
}

TEST_CASE("verification demands identical bits, rows in range only", "[jit][tiering]")
{
    float got[3] = { 1.0f, 2.0f, 3.0f }, expected[3] = { 1.0f, 2.0f, 3.0f };
    KernelArgs a {};
    a.row_begin = 1;
    a.row_end = 3;
    a.d = 3;
    a.t = 1;
    auto same = [&] { return !compare_outputs(ops::matvec_f32, a, got, nullptr, expected, nullptr).is_error(); };
    CHECK(same());
    got[0] = 99.0f;  // outside the row range: not compared
    CHECK(same());
    got[2] = __builtin_nextafterf(3.0f, 4.0f);
    CHECK_FALSE(same());
    CHECK(std::string(compare_outputs(ops::matvec_f32, a, got, nullptr, expected, nullptr).error().message())
        == "mismatch at token 0 row 2: 3.00000024, reference 3");
    got[2] = 3.0f;
    got[1] = -0.0f;
    expected[1] = 0.0f;  // equal as values, different bits
    CHECK_FALSE(same());
    got[1] = expected[1] = __builtin_nanf("");  // the same NaN bits are identical
    CHECK(same());
}

TEST_CASE("verification of a quantizer compares its values and its group scales", "[jit][tiering]")
{
    i8 q_got[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, q_expected[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    float s_got[2] = { 0.5f, 0.25f }, s_expected[2] = { 0.5f, 0.25f };
    KernelArgs a {};
    a.n = 8;
    a.gs = 4;
    a.d = 2;
    a.t = 1;
    a.row_begin = 1;
    a.row_end = 2;
    auto check = [&] { return compare_outputs(ops::quantize_q8, a, q_got, s_got, q_expected, s_expected); };
    CHECK_FALSE(check().is_error());
    q_got[0] = 9;  // group 0 is outside the range
    s_got[0] = 9.0f;
    CHECK_FALSE(check().is_error());
    q_got[5] = 0;
    CHECK(check().is_error());
    q_got[5] = 6;
    s_got[1] = 0.125f;
    CHECK(std::string(check().error().message()).find("group scale 1") != std::string::npos);
}
