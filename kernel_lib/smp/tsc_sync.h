// How far apart two cores' TSCs are: a ping-pong of timestamps through one cache line.
//
// Round r: the leader stores its TSC and the odd sequence number 2r+1; the follower, on
// seeing it, reads its own TSC (forward = follower - leader = offset + transfer time),
// then stores that reading with 2r+2; the leader, on seeing it, reads its TSC
// (back = leader - follower = transfer time - offset). Transfer times are never negative,
// so the offset lies in [-min(back), min(forward)]: the estimate is the middle of that
// interval and its half-width the uncertainty. The minimum over many rounds discards
// rounds in which either side was interrupted or descheduled.
//
// Shared code; the kernel probes each application processor against the boot processor
// as it starts (smp.kernel.cpp), the host tests two threads.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::smp {

struct alignas(64) TscPingPong {
    u64 sequence;
    u64 stamp;
    i64 follower_min_forward;
    u32 follower_done;
};

struct TscOffset {
    bool ok;            // false when the other side stopped answering (timeout)
    i64 offset;         // follower TSC minus leader TSC, in cycles
    u64 uncertainty;    // half-width of the interval the true offset lies in
    u64 round_trip;     // shortest round trip seen, in leader cycles
};

// Resets the line; before the follower starts waiting on it.
void tsc_probe_reset(TscPingPong& line);
// The two halves, run at the same time on the two cores. `timeout_cycles` bounds every
// wait for the other side (in the caller's own TSC cycles).
TscOffset tsc_probe_leader(TscPingPong& line, u32 rounds, u64 timeout_cycles);
bool tsc_probe_follower(TscPingPong& line, u32 rounds, u64 timeout_cycles);

}
