// Civil date to Unix time (kernel_lib/time/rtc.h) against values from the C library.
#include <catch2/catch.hpp>
#include <time.h>

#include "kernel_lib/time/rtc.h"

TEST_CASE("RTC: civil time to Unix seconds", "[time]")
{
    CHECK(kl::time::unix_seconds({ 1970, 1, 1, 0, 0, 0 }) == 0);
    CHECK(kl::time::unix_seconds({ 2000, 2, 29, 12, 0, 0 }) == 951825600);
    CHECK(kl::time::unix_seconds({ 2024, 12, 31, 23, 59, 59 }) == 1735689599);
    CHECK(kl::time::unix_seconds({ 1969, 12, 31, 23, 59, 59 }) == 0);
    CHECK(kl::time::unix_seconds({ 2024, 13, 1, 0, 0, 0 }) == 0);
    // Every day from 1970 to 2100 agrees with timegm.
    for (time_t t = 0; t < 4102444800; t += 86400 + 3661) {
        struct tm tm;
        gmtime_r(&t, &tm);
        const kl::time::CivilTime c { static_cast<u32>(tm.tm_year + 1900), static_cast<u32>(tm.tm_mon + 1),
            static_cast<u32>(tm.tm_mday), static_cast<u32>(tm.tm_hour), static_cast<u32>(tm.tm_min),
            static_cast<u32>(tm.tm_sec) };
        REQUIRE(kl::time::unix_seconds(c) == static_cast<u64>(t));
    }
}
