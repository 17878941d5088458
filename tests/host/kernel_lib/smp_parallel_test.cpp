// kl::smp's shared parts on real threads: the deterministic range split, the lock-free job
// protocol (WorkTeam) with a leader and worker threads, the core limit, the statistics,
// shutdown, and the TSC ping-pong between two threads.
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <sched.h>
#include <thread>
#include <vector>

#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/smp/tsc_sync.h"
#include "kernel_lib/smp/work_team.h"

using kl::smp::Range;
using kl::smp::split_range;
using kl::smp::WorkTeam;

namespace {

// Yield in long spins: this machine may have fewer cores than the test has threads.
void yield_thread() { sched_yield(); }

// A team of `members` (leader = this thread) with worker threads serving it.
struct ThreadTeam {
    WorkTeam team;
    std::vector<std::thread> threads;

    explicit ThreadTeam(u32 members)
    {
        team.init();
        team.set_idle_hook(yield_thread);
        for (u32 m = 1; m < members; ++m)
            threads.emplace_back([this, m] { team.serve(m); });
        while (team.ready_workers() != members - 1)
            std::this_thread::yield();
        REQUIRE(team.admit_ready() == members);
    }
    ~ThreadTeam()
    {
        team.shutdown();
        for (auto& t : threads)
            t.join();
    }
};

// What the job records: who processed each item, and how often.
struct Record {
    std::vector<u32> hits;
    std::vector<u32> owner;
    std::vector<u64> plain;  // written without atomics: the barrier must publish it
    u32 calls_per_member[WorkTeam::max_members] = {};
};

void record(void* ctx, u64 begin, u64 end, u32 member)
{
    auto* r = static_cast<Record*>(ctx);
    __atomic_fetch_add(&r->calls_per_member[member], 1, __ATOMIC_RELAXED);
    for (u64 i = begin; i < end; ++i) {
        __atomic_fetch_add(&r->hits[i], 1, __ATOMIC_RELAXED);
        r->owner[i] = member;
        r->plain[i] = i * 3 + 1;
    }
}

}

TEST_CASE("split_range: known splits", "[smp]")
{
    // 100 items in chunks of 16: 7 chunks (the last has 4 items) over 4 parts -> 2, 2, 2, 1.
    CHECK(split_range(100, 4, 0, 16).begin == 0);
    CHECK(split_range(100, 4, 0, 16).end == 32);
    CHECK(split_range(100, 4, 1, 16).begin == 32);
    CHECK(split_range(100, 4, 2, 16).end == 96);
    CHECK(split_range(100, 4, 3, 16).begin == 96);
    CHECK(split_range(100, 4, 3, 16).end == 100);
    // 10 items, 4 parts, no alignment: 3, 3, 2, 2.
    Range expected[4] = { { 0, 3 }, { 3, 6 }, { 6, 8 }, { 8, 10 } };
    for (u32 i = 0; i < 4; ++i) {
        CHECK(split_range(10, 4, i, 1).begin == expected[i].begin);
        CHECK(split_range(10, 4, i, 1).end == expected[i].end);
    }
    // Fewer chunks than parts: the last parts are empty; out-of-range index is empty.
    CHECK(split_range(20, 4, 1, 16).begin == 16);
    CHECK(split_range(20, 4, 1, 16).end == 20);
    CHECK(split_range(20, 4, 2, 16).begin == split_range(20, 4, 2, 16).end);
    CHECK(split_range(20, 4, 4, 16).begin == split_range(20, 4, 4, 16).end);
    // align 0 behaves as 1.
    CHECK(split_range(10, 4, 1, 0).end == 6);
}

TEST_CASE("split_range covers [0, count) in order, aligned and balanced", "[smp]")
{
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 5000; ++trial) {
        u64 count = rng() % 3000;
        u32 parts = 1 + static_cast<u32>(rng() % 64);
        u64 align = 1 + rng() % 70;
        u64 chunks = (count + align - 1) / align;
        u64 at = 0, smallest = ~0ull, largest = 0;
        for (u32 p = 0; p < parts; ++p) {
            Range r = split_range(count, parts, p, align);
            Range again = split_range(count, parts, p, align);
            REQUIRE(r.begin == again.begin);
            REQUIRE(r.end == again.end);
            REQUIRE(r.begin == at);
            REQUIRE(r.end >= r.begin);
            if (r.begin != count)  // an empty range at the end starts at count
                REQUIRE(r.begin % align == 0);
            if (r.end != count)
                REQUIRE(r.end % align == 0);
            u64 n = (r.end - r.begin + align - 1) / align;
            smallest = std::min(smallest, n);
            largest = std::max(largest, n);
            at = r.end;
        }
        REQUIRE(at == count);
        REQUIRE(largest - smallest <= 1);
        REQUIRE(largest == (chunks + parts - 1) / parts);
    }
}

TEST_CASE("WorkTeam runs every item exactly once, on the member split_range names", "[smp]")
{
    constexpr u32 members = 4;
    ThreadTeam t(members);
    std::mt19937_64 rng(42);
    const u64 aligns[] = { 1, 3, 16, 64 };
    u32 participated[members] = {};
    for (int job = 0; job < 400; ++job) {
        u64 count = rng() % 5000;
        u64 align = aligns[rng() % 4];
        Record r;
        r.hits.assign(count, 0);
        r.owner.assign(count, 99);
        r.plain.assign(count, 0);
        t.team.run(count, align, record, &r);
        for (u32 m = 0; m < members; ++m) {
            Range expected = split_range(count, members, m, align);
            if (count <= align)
                expected = m == 0 ? Range { 0, count } : Range { 0, 0 };
            for (u64 i = expected.begin; i < expected.end; ++i) {
                REQUIRE(r.hits[i] == 1);
                REQUIRE(r.owner[i] == m);
                REQUIRE(r.plain[i] == i * 3 + 1);
            }
            REQUIRE(r.calls_per_member[m] == (expected.end > expected.begin ? 1u : 0u));
            participated[m] += r.calls_per_member[m];
        }
    }
    for (u32 m = 0; m < members; ++m)
        CHECK(participated[m] > 300);
}

TEST_CASE("WorkTeam honours the core limit and keeps statistics", "[smp]")
{
    constexpr u32 members = 4;
    ThreadTeam t(members);
    t.team.reset_stats();
    for (u32 limit : { 2u, 3u, 1u, 0u, 9u }) {
        t.team.set_limit(limit);
        u32 expect_parts = (limit == 0 || limit > members) ? members : limit;
        CHECK(t.team.participants() == expect_parts);
        Record r;
        r.hits.assign(1000, 0);
        r.owner.assign(1000, 99);
        r.plain.assign(1000, 0);
        t.team.run(1000, 1, record, &r);
        for (u32 m = 0; m < members; ++m)
            CHECK(r.calls_per_member[m] == (m < expect_parts ? 1u : 0u));
        for (u64 i = 0; i < 1000; ++i)
            REQUIRE(r.hits[i] == 1);
    }
    // Jobs per member: limit 2 -> members 0,1; 3 -> 0..2; 1 -> 0; 0 and 9 -> all.
    const u64 expected_jobs[members] = { 5, 4, 3, 2 };
    u64 items = 0;
    for (u32 m = 0; m < members; ++m) {
        CHECK(t.team.stats()[m].jobs == expected_jobs[m]);
        items += t.team.stats()[m].items;
    }
    CHECK(items == 5000);
    CHECK(t.team.stats()[0].job_cycles > 0);
}

TEST_CASE("WorkTeam with one participant calls fn on the leader's thread", "[smp]")
{
    ThreadTeam t(3);
    t.team.set_limit(1);
    struct Ctx {
        std::thread::id id;
        u64 begin, end;
        u32 member;
    } ctx {};
    t.team.run(
        77, 4,
        [](void* c, u64 b, u64 e, u32 m) {
            auto* x = static_cast<Ctx*>(c);
            x->id = std::this_thread::get_id();
            x->begin = b;
            x->end = e;
            x->member = m;
        },
        &ctx);
    CHECK(ctx.id == std::this_thread::get_id());
    CHECK(ctx.begin == 0);
    CHECK(ctx.end == 77);
    CHECK(ctx.member == 0);
}

TEST_CASE("WorkTeam shutdown ends every worker, and the team can start again", "[smp]")
{
    for (int round = 0; round < 3; ++round) {
        ThreadTeam t(2 + round);
        Record r;
        r.hits.assign(64, 0);
        r.owner.assign(64, 99);
        r.plain.assign(64, 0);
        t.team.run(64, 1, record, &r);
        for (u64 i = 0; i < 64; ++i)
            REQUIRE(r.hits[i] == 1);
        // ~ThreadTeam shuts down and joins: a worker that missed the quit job hangs here.
    }
    SUCCEED();
}

namespace {

// The kernel's sleep is sti; hlt and its wake an IPI, which stays pending when it arrives
// before the hlt. Here: a binary semaphore per member with the same property.
struct Doorbells {
    std::mutex mutex;
    std::condition_variable rung;
    bool pending[WorkTeam::max_members] = {};
    std::atomic<u64> sleeps { 0 };
    std::atomic<u64> wakes { 0 };
    std::atomic<u64> timeouts { 0 };  // sleeps that no wake-up ended: lost wake-ups
};
Doorbells g_doorbells;

void doorbell_sleep(u32 member)
{
    g_doorbells.sleeps++;
    std::unique_lock<std::mutex> lock(g_doorbells.mutex);
    // A bounded wait: a lost wake-up shows up as a timeout (counted and checked), not as
    // a hang.
    if (!g_doorbells.rung.wait_for(lock, std::chrono::seconds(2), [&] { return g_doorbells.pending[member]; }))
        g_doorbells.timeouts++;
    g_doorbells.pending[member] = false;
}

void doorbell_wake(u64 members)
{
    g_doorbells.wakes++;
    std::lock_guard<std::mutex> lock(g_doorbells.mutex);
    for (u32 m = 0; m < WorkTeam::max_members; ++m) {
        if (members & (1ull << m))
            g_doorbells.pending[m] = true;
    }
    g_doorbells.rung.notify_all();
}

}

TEST_CASE("WorkTeam workers sleep when idle and every job wakes them", "[smp]")
{
    constexpr u32 members = 4;
    g_doorbells.sleeps = 0;
    g_doorbells.wakes = 0;
    g_doorbells.timeouts = 0;
    WorkTeam team;
    team.init();
    team.set_idle_hook(yield_thread);
    team.set_sleep(doorbell_sleep, doorbell_wake, 20000);  // ~10 us of TSC without a job
    std::vector<std::thread> threads;
    for (u32 m = 1; m < members; ++m)
        threads.emplace_back([&team, m] { team.serve(m); });
    while (team.ready_workers() != members - 1)
        std::this_thread::yield();
    REQUIRE(team.admit_ready() == members);

    std::mt19937_64 rng(3);
    auto started = std::chrono::steady_clock::now();
    for (int job = 0; job < 300; ++job) {
        // Pauses of 0..400 us between jobs: some find the workers spinning, most asleep.
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 400));
        Record r;
        u64 count = 64 + rng() % 1000;
        r.hits.assign(count, 0);
        r.owner.assign(count, 99);
        r.plain.assign(count, 0);
        team.run(count, 1, record, &r);
        for (u64 i = 0; i < count; ++i)
            REQUIRE(r.hits[i] == 1);
        for (u32 m = 0; m < members; ++m)
            REQUIRE(r.calls_per_member[m] == 1);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    team.shutdown();
    for (auto& t : threads)
        t.join();
    CHECK(g_doorbells.sleeps > 100);
    CHECK(g_doorbells.wakes > 100);
    u64 counted = 0;
    for (u32 m = 1; m < members; ++m)
        counted += team.stats()[m].sleeps;
    CHECK(counted == g_doorbells.sleeps);
    CHECK(team.stats()[0].wakes_sent > 0);
    CHECK(g_doorbells.timeouts == 0);
    INFO("300 jobs in " << seconds << " s");
}

TEST_CASE("WorkTeam: workers that sleep at once never miss a job", "[smp]")
{
    // Sleep after ~1 cycle idle, jobs back to back: the leader publishes while workers are
    // on their way to sleep, the window in which a wake-up could be lost.
    constexpr u32 members = 3;
    g_doorbells.sleeps = 0;
    g_doorbells.timeouts = 0;
    WorkTeam team;
    team.init();
    team.set_idle_hook(yield_thread);
    team.set_sleep(doorbell_sleep, doorbell_wake, 1);
    std::vector<std::thread> threads;
    for (u32 m = 1; m < members; ++m)
        threads.emplace_back([&team, m] { team.serve(m); });
    while (team.ready_workers() != members - 1)
        std::this_thread::yield();
    REQUIRE(team.admit_ready() == members);
    std::atomic<u64> items { 0 };
    for (int job = 0; job < 5000; ++job) {
        team.run(
            members, 1, [](void* c, u64 b, u64 e, u32) { static_cast<std::atomic<u64>*>(c)->fetch_add(e - b); },
            &items);
    }
    team.shutdown();
    for (auto& t : threads)
        t.join();
    CHECK(items == 5000u * members);
    CHECK(g_doorbells.sleeps > 0);
    CHECK(g_doorbells.timeouts == 0);
}

TEST_CASE("Host parallel_for is a serial call with the whole range", "[smp]")
{
    kl::smp::reset_core_stats();
    u64 seen_begin = 1, seen_end = 0;
    struct Ctx {
        u64* b;
        u64* e;
    } ctx { &seen_begin, &seen_end };
    kl::smp::parallel_for(
        123,
        [](void* c, u64 b, u64 e, u32) {
            *static_cast<Ctx*>(c)->b = b;
            *static_cast<Ctx*>(c)->e = e;
        },
        &ctx, 16);
    CHECK(seen_begin == 0);
    CHECK(seen_end == 123);
    CHECK(kl::smp::core_count() == 1);
    CHECK(kl::smp::core_stats()[0].items == 123);
}

TEST_CASE("TSC ping-pong between two threads finds a small offset", "[smp]")
{
    kl::smp::TscPingPong line;
    kl::smp::tsc_probe_reset(line);
    constexpr u64 timeout = 20ull * 1000 * 1000 * 1000;  // cycles: generous on a loaded host
    bool follower_ok = false;
    std::thread follower([&] { follower_ok = kl::smp::tsc_probe_follower(line, 2000, timeout); });
    auto result = kl::smp::tsc_probe_leader(line, 2000, timeout);
    follower.join();
    REQUIRE(result.ok);
    REQUIRE(follower_ok);
    // Linux keeps the TSCs of its CPUs in step: whatever the offset is, it is within the
    // measurement's own uncertainty plus a little.
    INFO("offset " << result.offset << " uncertainty " << result.uncertainty << " round trip " << result.round_trip);
    CHECK(std::llabs(result.offset) <= static_cast<long long>(result.uncertainty) + 2000);
    CHECK(result.round_trip > 0);
}

TEST_CASE("TSC ping-pong without a follower times out", "[smp]")
{
    kl::smp::TscPingPong line;
    kl::smp::tsc_probe_reset(line);
    auto result = kl::smp::tsc_probe_leader(line, 10, 10 * 1000 * 1000);
    CHECK_FALSE(result.ok);
}
