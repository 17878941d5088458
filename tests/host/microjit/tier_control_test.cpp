// Run-time tier switching (the console's /jit off and /jit on), driven with injected
// kernels: off puts published and tuning slots back on the reference and stops tuning;
// on installs the defaults again and lets them tune. Outputs are checked against the reference on every call.
#include <catch2/catch.hpp>

#include <string.h>

#include <string>
#include <vector>

#include "microjit/dispatch.h"
#include "microjit/reference.h"
#include "microjit/tier_control.h"
#include "microjit/tiering.h"

using namespace mjit;

namespace {

// A "generated" kernel: the reference's code behind a different pointer, so a test can tell
// which one the slot serves.
void published_kernel(const KernelArgs* a) { ref::matmul_f32(a); }

struct CountingJit {
    int obtained = 0;
    std::vector<KernelConfig> discarded;

    static kl::ErrorOr<KernelFn> obtain(void* context, const KernelConfig&)
    {
        ++static_cast<CountingJit*>(context)->obtained;
        return published_kernel;
    }
    static void discard(void* context, const KernelConfig& config)
    {
        static_cast<CountingJit*>(context)->discarded.push_back(config);
    }
    static usize list(void*, Op, Shape, bool, KernelConfig* out, usize capacity)
    {
        usize n = capacity < 2 ? capacity : 2;
        for (usize i = 0; i < n; ++i) {
            out[i] = KernelConfig {};
            out[i].op = ops::matvec_f32;
            out[i].isa = Isa::Avx2;
            out[i].unroll = static_cast<u8>(i + 1);
        }
        return n;
    }
    TieringHooks hooks() { return { obtain, discard, list, this }; }
};

struct Problem {
    static constexpr u32 n = 40, d = 24;
    std::vector<float> w = std::vector<float>(n * d), x = std::vector<float>(n), out = std::vector<float>(d),
                       expected = std::vector<float>(d);
    KernelArgs args {};
    Problem()
    {
        for (u32 i = 0; i < n * d; ++i)
            w[i] = static_cast<float>((i * 29) % 97) / 97.0f - 0.5f;
        for (u32 j = 0; j < n; ++j)
            x[j] = static_cast<float>(j % 11) / 11.0f - 0.3f;
        args.out = out.data();
        args.w = w.data();
        args.x = x.data();
        args.row_end = d;
        args.n = n;
        args.d = d;
        args.t = 1;
        KernelArgs e = args;
        e.out = expected.data();
        ref::matmul_f32(&e);
    }
    void call_checked(KernelSlot& slot)
    {
        std::fill(out.begin(), out.end(), -3.0f);
        call(slot, args);
        REQUIRE(memcmp(out.data(), expected.data(), d * sizeof(float)) == 0);
    }
};

TieringOptions quick_options()
{
    TieringOptions o;
    o.hot_calls = 2;
    o.hot_cycles = 0;
    o.tune_calls = 2;
    return o;
}

KernelConfig warm_config()
{
    KernelConfig c;
    c.op = ops::matvec_f32;
    c.isa = Isa::Avx2;
    c.unroll = 1;
    return c;
}

}

TEST_CASE("/jit off puts published and tuning slots on the reference and stops tuning", "[jit][console]")
{
    CountingJit jit;
    Tiering tiering(jit.hooks(), quick_options());
    Dispatcher dispatcher;
    dispatcher.attach(&tiering);
    Problem p;
    KernelSlot* published = dispatcher.slot(ops::matvec_f32, { Problem::n, Problem::d, 1, 0 }, { p.w.data() });
    REQUIRE_FALSE(tiering.publish_verified(*published, warm_config(), Tier::Tuned).is_error());
    REQUIRE(published->fn == published_kernel);

    // A second slot caught in the middle of tuning.
    KernelSlot* tuning = dispatcher.slot(ops::matvec_f32, { Problem::n, Problem::d, 2, 0 }, { p.w.data() });
    for (int i = 0; i < 4 && tuning->tuning == nullptr; ++i)
        p.call_checked(*tuning);
    REQUIRE(tuning->tuning != nullptr);
    const usize discarded_before = jit.discarded.size();

    CHECK(tiers_active(dispatcher));
    tiers_to_reference(dispatcher, "switched off at the console");
    CHECK_FALSE(tiers_active(dispatcher));
    for (KernelSlot* s : { published, tuning }) {
        CHECK(s->fn == s->reference);
        CHECK(s->tier == Tier::Reference);
        CHECK(s->settled);
        CHECK(std::string(s->reason) == "switched off at the console");
    }
    CHECK(tuning->tuning == nullptr);
    CHECK(jit.discarded.size() > discarded_before);  // the interrupted candidates went back

    // No tuning while off, however hot the slots get; results stay right.
    const int obtained = jit.obtained;
    for (int i = 0; i < 60; ++i) {
        p.call_checked(*published);
        p.call_checked(*tuning);
    }
    CHECK(jit.obtained == obtained);
    CHECK(published->tier == Tier::Reference);
    CHECK(tuning->tier == Tier::Reference);

    // Slots created while off start on tier 0 without a policy.
    KernelSlot* later = dispatcher.slot(ops::matvec_f32, { Problem::n, Problem::d, 3, 0 });
    CHECK(later->settled);
    CHECK(later->tiering == nullptr);
}

TEST_CASE("/jit on lets every slot tune again", "[jit][console]")
{
    CountingJit jit;
    Tiering tiering(jit.hooks(), quick_options());
    Dispatcher dispatcher;
    dispatcher.attach(&tiering);
    Problem p;
    KernelSlot* slot = dispatcher.slot(ops::matvec_f32, { Problem::n, Problem::d, 1, 0 }, { p.w.data() });
    REQUIRE_FALSE(tiering.publish_verified(*slot, warm_config(), Tier::Tuned).is_error());
    tiers_to_reference(dispatcher, "off");
    for (int i = 0; i < 10; ++i)
        p.call_checked(*slot);
    const int obtained = jit.obtained;

    tiers_resume(dispatcher, tiering);
    CHECK(tiers_active(dispatcher));
    CHECK(slot->tier == Tier::Default);  // the default kernel again, at once
    CHECK(slot->fn == published_kernel);
    CHECK_FALSE(slot->settled);
    CHECK(slot->reason[0] == 0);
    CHECK(slot->tiering == &tiering);
    int calls = 0;
    while (!slot->settled && calls < 100) {
        p.call_checked(*slot);
        ++calls;
    }
    CHECK(slot->settled);
    CHECK(jit.obtained > obtained);  // it tuned again
    // Either a tuned kernel won or the default stayed, with the reason recorded.
    CHECK(slot->fn == published_kernel);
    CHECK((slot->tier == Tier::Tuned || std::string(slot->reason).find("beat") != std::string::npos
        || std::string(slot->reason).find("fastest") != std::string::npos));
}

TEST_CASE("/jit on cannot tune when the JIT was disabled at start", "[jit][console]")
{
    CountingJit jit;
    TieringOptions options = quick_options();
    options.enabled = false;
    Tiering disabled(jit.hooks(), options);
    Dispatcher dispatcher;
    dispatcher.attach(&disabled);
    Problem p;
    KernelSlot* slot = dispatcher.slot(ops::matvec_f32, { Problem::n, Problem::d, 1, 0 }, { p.w.data() });
    tiers_to_reference(dispatcher, "off");
    tiers_resume(dispatcher, disabled);
    for (int i = 0; i < 30; ++i)
        p.call_checked(*slot);
    CHECK(jit.obtained == 0);
    CHECK(slot->tier == Tier::Reference);
    CHECK(slot->settled);
}
