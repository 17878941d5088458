// The code cache: keyed lookups, statistics, the budget, removal of unpublished kernels.
#include <catch2/catch.hpp>

#include "microjit/code_cache.h"
#include "tests/host/microjit/jit_test_support.h"

using namespace mjit;
using namespace mjit::test;

namespace {

KernelConfig matvec(u32 n, u32 d, Isa isa)
{
    Shape s;
    s.n = n;
    s.d = d;
    return default_config(ops::matvec_f32, s, isa);
}

}

TEST_CASE("code cache: generates once per key, then hits", "[jit][cache]")
{
    const Isa isa = runnable_isas().back();
    CodeCache cache(1 * kl::MiB);
    auto a = cache.get(matvec(288, 768, isa));
    REQUIRE_FALSE(a.is_error());
    auto again = cache.get(matvec(288, 768, isa));
    REQUIRE_FALSE(again.is_error());
    CHECK(a.value() == again.value());
    // Another variant of the same shape is another kernel.
    KernelConfig other = matvec(288, 768, isa);
    other.unroll = 2;
    auto b = cache.get(other);
    REQUIRE_FALSE(b.is_error());
    CHECK(b.value() != a.value());

    const CacheStats s = cache.stats();
    CHECK(s.kernels == 2);
    CHECK(s.generated == 2);
    CHECK(s.hits == 1);
    CHECK(s.code_bytes == a.value()->code_size + b.value()->code_size);
    CHECK(s.arena_bytes >= s.code_bytes);
    CHECK(s.generation_cycles > 0);
    CHECK(cache.find(matvec(64, 64, isa)) == nullptr);

    // The cached kernel computes correctly.
    const Verdict v = check_f32(a.value()->kernel(), MatrixCase { 288, 768, 1, 0, 0, 768 });
    INFO(v.detail);
    CHECK(v.ok);
}

TEST_CASE("code cache: refuses beyond its budget, counts refusals and failures", "[jit][cache]")
{
    const Isa isa = runnable_isas().back();
    CodeCache cache(8192);  // two 4 KiB blocks
    REQUIRE_FALSE(cache.get(matvec(64, 64, isa)).is_error());
    REQUIRE_FALSE(cache.get(matvec(64, 65, isa)).is_error());
    auto full = cache.get(matvec(64, 66, isa));
    REQUIRE(full.is_error());
    CHECK(full.error().code() == kl::ErrorCode::JitArenaFull);
    CHECK(cache.stats().refusals == 1);

    KernelConfig bad = matvec(64, 64, isa);
    bad.rows = 0;
    CHECK(cache.get(bad).is_error());
    CHECK(cache.stats().failures == 0);  // refused before generating: the budget is full

    // Removing an unpublished kernel makes room again.
    REQUIRE_FALSE(cache.remove(matvec(64, 64, isa)).is_error());
    CHECK(cache.remove(matvec(64, 64, isa)).is_error());
    CHECK(cache.stats().kernels == 1);
    REQUIRE_FALSE(cache.get(matvec(64, 66, isa)).is_error());
    CHECK(cache.find(matvec(64, 65, isa)) != nullptr);

    CodeCache roomy(1 * kl::MiB);
    auto failed = roomy.get(bad);
    REQUIRE(failed.is_error());
    CHECK(roomy.stats().failures == 1);
    roomy.clear();
    cache.clear();
    CHECK(cache.stats().kernels == 0);
    CHECK(cache.stats().arena_bytes == 0);
}
