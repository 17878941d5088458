// Wall-clock time from the PC's CMOS real-time clock, for the "created" field of API
// answers: read once (rtc.kernel.cpp) and carried forward with the TSC by the caller.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::time {

struct CivilTime {
    u32 year;    // e.g. 2025
    u32 month;   // 1..12
    u32 day;     // 1..31
    u32 hour;
    u32 minute;
    u32 second;
};

// Seconds since 1970-01-01 00:00:00 UTC (the RTC is taken to hold UTC, as QEMU's does by
// default); 0 for a date before 1970 or fields out of range.
u64 unix_seconds(const CivilTime& t);

// Kernel only: the CMOS clock now, as Unix time (0 when it reads as nonsense).
u64 read_rtc_unix();

}
