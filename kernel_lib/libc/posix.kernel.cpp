// The POSIX calls asmjit makes in the kernel build: clock_gettime (its tick count, from
// the TSC) and sysconf (page size, CPU count). See time.h and unistd.h in libc/include.
#include <time.h>
#include <unistd.h>

#include "kernel_lib/time/tsc.h"

extern "C" {

// Every clock is the TSC since boot: monotonic, and "real time" means nothing here.
int clock_gettime(clockid_t, struct timespec* out)
{
    u64 hz = kl::time::tsc_hz();
    if (hz == 0)
        return -1;
    u64 cycles = kl::time::rdtsc();
    u64 rest = cycles % hz;
    out->tv_sec = static_cast<time_t>(cycles / hz);
    // rest < hz, so rest * 10^9 fits in 64 bits for any TSC below 18 GHz.
    out->tv_nsec = static_cast<long>(rest * 1000000000ull / hz);
    return 0;
}

long sysconf(int name)
{
    switch (name) {
    case _SC_PAGESIZE:
        return 4096;
    case _SC_NPROCESSORS_ONLN:
        return 1;  // asmjit only reports it; BareFlow's SMP code counts CPUs itself
    default:
        return -1;
    }
}

}
