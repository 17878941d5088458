// The TSC ping-pong (see tsc_sync.h).
#include "kernel_lib/smp/tsc_sync.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::smp {

namespace {

// Waits until line.sequence == want; false after timeout_cycles.
bool wait_sequence(const TscPingPong& line, u64 want, u64 timeout_cycles)
{
    u64 start = x86::rdtsc();
    while (__atomic_load_n(&line.sequence, __ATOMIC_ACQUIRE) != want) {
        x86::pause();
        if (x86::rdtsc() - start > timeout_cycles)
            return false;
    }
    return true;
}

}

void tsc_probe_reset(TscPingPong& line)
{
    __atomic_store_n(&line.stamp, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&line.follower_min_forward, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&line.follower_done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&line.sequence, 0, __ATOMIC_RELEASE);
}

TscOffset tsc_probe_leader(TscPingPong& line, u32 rounds, u64 timeout_cycles)
{
    TscOffset result {};
    i64 min_back = INT64_MAX;
    u64 min_round_trip = UINT64_MAX;
    for (u32 r = 0; r < rounds; ++r) {
        // The fenced read keeps the TSC read from drifting past earlier loads.
        u64 t0 = x86::rdtsc_begin();
        __atomic_store_n(&line.stamp, t0, __ATOMIC_RELAXED);
        __atomic_store_n(&line.sequence, 2ull * r + 1, __ATOMIC_RELEASE);
        if (!wait_sequence(line, 2ull * r + 2, timeout_cycles))
            return result;
        u64 t3 = x86::rdtsc_begin();
        i64 back = static_cast<i64>(t3 - __atomic_load_n(&line.stamp, __ATOMIC_RELAXED));
        min_back = min(min_back, back);
        min_round_trip = min(min_round_trip, t3 - t0);
    }
    u64 start = x86::rdtsc();
    while (__atomic_load_n(&line.follower_done, __ATOMIC_ACQUIRE) == 0) {
        x86::pause();
        if (x86::rdtsc() - start > timeout_cycles)
            return result;
    }
    i64 min_forward = __atomic_load_n(&line.follower_min_forward, __ATOMIC_RELAXED);
    result.ok = true;
    result.offset = (min_forward - min_back) / 2;
    i64 width = (min_forward + min_back) / 2;
    result.uncertainty = width < 0 ? 0 : static_cast<u64>(width);
    result.round_trip = min_round_trip;
    return result;
}

bool tsc_probe_follower(TscPingPong& line, u32 rounds, u64 timeout_cycles)
{
    i64 min_forward = INT64_MAX;
    for (u32 r = 0; r < rounds; ++r) {
        if (!wait_sequence(line, 2ull * r + 1, timeout_cycles))
            return false;
        u64 t1 = x86::rdtsc_begin();
        i64 forward = static_cast<i64>(t1 - __atomic_load_n(&line.stamp, __ATOMIC_RELAXED));
        min_forward = min(min_forward, forward);
        u64 t2 = x86::rdtsc_begin();
        __atomic_store_n(&line.stamp, t2, __ATOMIC_RELAXED);
        __atomic_store_n(&line.sequence, 2ull * r + 2, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&line.follower_min_forward, min_forward, __ATOMIC_RELAXED);
    __atomic_store_n(&line.follower_done, 1, __ATOMIC_RELEASE);
    return true;
}

}
