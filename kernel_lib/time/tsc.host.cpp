// Host TSC calibration against CLOCK_MONOTONIC_RAW, without waiting: the TSC and the clock
// are read once when the program starts and again on first use, and the frequency is the
// ratio over that interval (at least 2 ms, spun out if the program asks sooner). By the
// time a program first converts cycles, its set-up has usually taken longer than that, so
// the figure costs nothing; a few ms of interval already give it to 1e-5.
#include <time.h>

#include "kernel_lib/time/tsc.h"

namespace kl::time {

namespace {

u64 monotonic_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return static_cast<u64>(ts.tv_sec) * 1000000000ull + static_cast<u64>(ts.tv_nsec);
}

constexpr u64 min_interval_ns = 2000000;

struct Reading {
    u64 ns;
    u64 tsc;
    Reading() : ns(monotonic_ns()), tsc(rdtsc_begin()) {}
};

// Host code may start timing before main: the first reading is taken at static
// initialisation.
const Reading g_start;
u64 g_tsc_hz = 0;

}

u64 tsc_hz()
{
    if (g_tsc_hz == 0) {
        Reading now;
        while (now.ns - g_start.ns < min_interval_ns)
            now = Reading();
        g_tsc_hz = static_cast<u64>(static_cast<double>(now.tsc - g_start.tsc) * 1e9 / static_cast<double>(now.ns - g_start.ns));
    }
    return g_tsc_hz;
}

const char* tsc_source() { return "clock_gettime"; }

}
