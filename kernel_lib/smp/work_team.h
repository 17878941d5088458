// The lock-free job protocol behind kl::smp::parallel_for: one leader, N-1 polling workers.
//
// A job is [0, count) cut into one contiguous range per participant (split_range: the
// same count, alignment and participant count always give the same ranges). The leader
// (member 0, the core that calls run()) writes the job, then publishes it by bumping a
// generation counter with a release store; every worker spins on that counter with
// `pause`, runs its own range, and counts down a completion counter with a release
// decrement; the leader runs range 0 itself and waits (acquire) until the counter is zero.
// No locks, no scheduler; jobs never need an interrupt.
//
// Idle sleep (optional, set_sleep): a worker that has seen no job for a while sets its bit
// in a sleepers mask, checks the generation once more and, if still no job, calls the
// sleep hook (the kernel: sti; hlt). The leader, after publishing a job, reads the mask and
// calls the wake hook for the sleepers (the kernel: an IPI). Both sides use sequentially
// consistent operations (set bit, then read generation / write generation, then read bits),
// so at least one sees the other: a worker never sleeps through a job. A wake-up that
// arrives before the sleep must make the sleep return at once (the kernel's hlt follows
// sti, whose one-instruction delay lets a pending interrupt end the hlt). This keeps idle
// cores from burning a host CPU each under a hypervisor, at the price of a slower first job.
//
// Every worker acknowledges every job, also those in which it has no range (the core
// limit is below the team size, or the job has fewer chunks than members). So when run()
// returns no worker still reads the job, and the next run() may rewrite it freely.
//
// Shared code: the kernel runs it on its cores (kernel_lib/smp/parallel.kernel.cpp), the
// host tests on threads (tests/host/kernel_lib/smp_parallel_test.cpp).
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::smp {

// fn(ctx, begin, end, member): process items [begin, end) on team member `member`.
using RangeFn = void (*)(void* ctx, u64 begin, u64 end, u32 member);

struct Range {
    u64 begin;
    u64 end;
};

// Range `index` of `parts` when [0, count) is cut into chunks of `align` items (the last
// chunk may be short) and the chunks are dealt out contiguously, the first (chunks % parts)
// ranges getting one chunk more. Ranges may be empty when there are fewer chunks than parts.
Range split_range(u64 count, u32 parts, u32 index, u64 align);

// Per-member counters, one cache line each (no false sharing between cores).
struct alignas(64) CoreStats {
    u64 job_cycles;   // TSC cycles spent inside fn
    u64 jobs;         // jobs in which this member ran a non-empty range
    u64 items;        // items it processed
    u64 wait_cycles;  // leader only: cycles spent waiting for the others at the barrier
    u64 sleeps;       // times this member went to sleep for lack of work
    u64 wakes_sent;   // leader only: jobs that had to wake sleeping members
};

class WorkTeam {
public:
    static constexpr u32 max_members = 64;

    // Resets the team to the leader alone. Not while any worker is in serve().
    void init();

    // A worker's loop (1 <= member < max_members): announces itself as ready, then serves
    // jobs until shutdown(). Members must be numbered 1, 2, ... in the order they start.
    void serve(u32 member);

    // Workers that have entered serve() so far.
    u32 ready_workers() const { return __atomic_load_n(&m_ready, __ATOMIC_ACQUIRE); }

    // Leader only, between jobs: every worker now in serve() becomes a member (a worker is
    // never a member before it serves, so it cannot miss a job). Returns the member count.
    u32 admit_ready();
    u32 members() const { return m_members; }

    // At most `limit` members get ranges (0 or >= members: all). Leader only, between jobs.
    void set_limit(u32 limit);
    u32 limit() const { return m_limit; }
    u32 participants() const { return m_participants; }

    // Leader only: runs fn over [0, count) on all participants and returns when every range
    // is done. `align` (0 counts as 1) is the chunk size ranges are multiples of. With one
    // participant, or a single chunk, this is a plain call fn(ctx, 0, count, 0).
    void run(u64 count, u64 align, RangeFn fn, void* ctx);

    // Leader only: tells every member to leave serve() and waits until all have; the team
    // is back to the leader alone.
    void shutdown();

    // Called in long spins (every few thousand `pause`s) when set: the host test yields
    // its threads there; the kernel leaves it unset.
    void set_idle_hook(void (*hook)()) { m_idle_hook = hook; }

    // Idle sleep (see the top of this file): after `after_cycles` TSC cycles without a job a
    // worker calls sleep(member); wake(mask) must end the sleep of every member whose bit is
    // set in `mask` (bit n = member n), also when it has not started sleeping yet. Leader
    // only, before workers serve or between jobs. after_cycles 0 turns sleeping off.
    using SleepFn = void (*)(u32 member);
    using WakeFn = void (*)(u64 members);
    void set_sleep(SleepFn sleep, WakeFn wake, u64 after_cycles);
    u64 sleeps(u32 member) const { return __atomic_load_n(&m_stats[member].sleeps, __ATOMIC_RELAXED); }

    const CoreStats* stats() const { return m_stats; }
    void reset_stats();
    u64 generation() const { return __atomic_load_n(&m_generation, __ATOMIC_ACQUIRE); }

private:
    void run_range(u32 member, u64 count, u64 align, u32 parts, RangeFn fn, void* ctx);
    void spin_pause(u32& spins);
    void publish_and_wait(u32 member_count);
    u64 wait_for_job(u32 member, u64 seen);

    // The published job: written by the leader before the generation bump.
    alignas(64) u64 m_generation { 0 };
    RangeFn m_fn { nullptr };
    void* m_ctx { nullptr };
    u64 m_count { 0 };
    u64 m_align { 1 };
    u32 m_parts { 1 };
    bool m_quit { false };

    // The completion counter, the ready count and the sleepers, each on a line of its own
    // (workers write them).
    alignas(64) u32 m_pending { 0 };
    alignas(64) u32 m_ready { 0 };
    alignas(64) u64 m_sleepers { 0 };

    SleepFn m_sleep { nullptr };
    WakeFn m_wake { nullptr };
    u64 m_sleep_after { 0 };

    alignas(64) u32 m_members { 1 };
    u32 m_limit { 0 };
    u32 m_participants { 1 };
    void (*m_idle_hook)() { nullptr };
    CoreStats m_stats[max_members] {};
};

}
