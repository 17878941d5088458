// The job protocol of kl::smp (see work_team.h). Only __atomic builtins: no locks, no
// standard library, so the same code runs on bare cores and on host threads.
#include "kernel_lib/smp/work_team.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::smp {

Range split_range(u64 count, u32 parts, u32 index, u64 align)
{
    if (parts == 0 || index >= parts)
        return { 0, 0 };
    if (align == 0)
        align = 1;
    u64 chunks = count / align + (count % align != 0 ? 1 : 0);
    u64 base = chunks / parts;
    u64 extra = chunks % parts;
    u64 first = index * base + min<u64>(index, extra);
    u64 mine = base + (index < extra ? 1 : 0);
    return { min<u64>(first * align, count), min<u64>((first + mine) * align, count) };
}

void WorkTeam::init()
{
    m_generation = 0;
    m_fn = nullptr;
    m_ctx = nullptr;
    m_quit = false;
    m_pending = 0;
    m_ready = 0;
    m_members = 1;
    m_participants = 1;
    m_limit = 0;
    m_sleepers = 0;
    reset_stats();
}

void WorkTeam::reset_stats()
{
    for (auto& s : m_stats)
        s = CoreStats {};
}

void WorkTeam::spin_pause(u32& spins)
{
    x86::pause();
    if ((++spins & 4095) == 0 && m_idle_hook)
        m_idle_hook();
}

void WorkTeam::set_sleep(SleepFn sleep, WakeFn wake, u64 after_cycles)
{
    m_sleep = sleep;
    m_wake = wake;
    m_sleep_after = (sleep && wake) ? after_cycles : 0;
}

u32 WorkTeam::admit_ready()
{
    m_members = ready_workers() + 1;
    set_limit(m_limit);
    return m_members;
}

void WorkTeam::set_limit(u32 limit)
{
    m_limit = limit;
    m_participants = (limit == 0 || limit > m_members) ? m_members : limit;
}

void WorkTeam::run_range(u32 member, u64 count, u64 align, u32 parts, RangeFn fn, void* ctx)
{
    Range r = split_range(count, parts, member, align);
    if (r.begin >= r.end)
        return;
    u64 start = x86::rdtsc();
    fn(ctx, r.begin, r.end, member);
    u64 cycles = x86::rdtsc() - start;
    // Single writer per line; relaxed atomics keep concurrent readers of the report defined.
    CoreStats& s = m_stats[member];
    __atomic_store_n(&s.job_cycles, s.job_cycles + cycles, __ATOMIC_RELAXED);
    __atomic_store_n(&s.jobs, s.jobs + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&s.items, s.items + (r.end - r.begin), __ATOMIC_RELAXED);
}

// The leader's half of a job once its fields are written: publish, own range, barrier.
void WorkTeam::publish_and_wait(u32 member_count)
{
    __atomic_store_n(&m_pending, member_count - 1, __ATOMIC_RELAXED);
    // Release: the job fields (and whatever the caller wrote for fn to read) are visible to
    // a worker that sees the new generation. Sequentially consistent, with the sleepers
    // load after it: the leader's half of the no-lost-wake-up handshake.
    __atomic_store_n(&m_generation, m_generation + 1, __ATOMIC_SEQ_CST);
    if (m_sleep_after) {
        u64 sleepers = __atomic_load_n(&m_sleepers, __ATOMIC_SEQ_CST) & ~1ull;
        if (sleepers) {
            m_wake(sleepers);
            __atomic_store_n(&m_stats[0].wakes_sent, m_stats[0].wakes_sent + 1, __ATOMIC_RELAXED);
        }
    }
    if (!m_quit)
        run_range(0, m_count, m_align, m_parts, m_fn, m_ctx);
    u64 start = x86::rdtsc();
    u32 spins = 0;
    // Acquire: every worker's writes made inside fn are visible once the count is zero.
    while (__atomic_load_n(&m_pending, __ATOMIC_ACQUIRE) != 0)
        spin_pause(spins);
    CoreStats& s = m_stats[0];
    __atomic_store_n(&s.wait_cycles, s.wait_cycles + (x86::rdtsc() - start), __ATOMIC_RELAXED);
}

void WorkTeam::run(u64 count, u64 align, RangeFn fn, void* ctx)
{
    if (align == 0)
        align = 1;
    if (count == 0)
        return;
    if (m_participants <= 1 || count <= align) {
        run_range(0, count, align, 1, fn, ctx);
        return;
    }
    m_fn = fn;
    m_ctx = ctx;
    m_count = count;
    m_align = align;
    m_parts = m_participants;
    publish_and_wait(m_members);
}

// Spins (and, when enabled, sleeps) until the generation moves past `seen`; returns it.
u64 WorkTeam::wait_for_job(u32 member, u64 seen)
{
    u32 spins = 0;
    u64 idle_since = m_sleep_after ? x86::rdtsc() : 0;
    for (;;) {
        u64 now = __atomic_load_n(&m_generation, __ATOMIC_ACQUIRE);
        if (now != seen)
            return now;
        spin_pause(spins);
        if (!m_sleep_after || (spins & 255) != 0 || x86::rdtsc() - idle_since < m_sleep_after)
            continue;
        u64 bit = 1ull << member;
        __atomic_fetch_or(&m_sleepers, bit, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&m_generation, __ATOMIC_SEQ_CST) == seen) {
            CoreStats& s = m_stats[member];
            __atomic_store_n(&s.sleeps, s.sleeps + 1, __ATOMIC_RELAXED);
            m_sleep(member);
        }
        __atomic_fetch_and(&m_sleepers, ~bit, __ATOMIC_SEQ_CST);
        idle_since = x86::rdtsc();
    }
}

void WorkTeam::serve(u32 member)
{
    u64 seen = __atomic_load_n(&m_generation, __ATOMIC_ACQUIRE);
    __atomic_fetch_add(&m_ready, 1, __ATOMIC_RELEASE);
    for (;;) {
        seen = wait_for_job(member, seen);
        bool quit = m_quit;
        if (!quit)
            run_range(member, m_count, m_align, m_parts, m_fn, m_ctx);
        // Release: this member's results are visible to the leader; after this decrement it
        // reads nothing of the job any more.
        __atomic_fetch_sub(&m_pending, 1, __ATOMIC_RELEASE);
        if (quit)
            return;
    }
}

void WorkTeam::shutdown()
{
    admit_ready();  // a worker that serves but was never admitted must leave too
    if (m_members > 1) {
        m_quit = true;
        publish_and_wait(m_members);
    }
    m_quit = false;
    m_members = 1;
    m_participants = 1;
    __atomic_store_n(&m_ready, 0, __ATOMIC_RELEASE);
}

}
