// Calendar arithmetic for the RTC (see rtc.h): days from the civil date with March as the
// first month of the computational year, so February's length only matters at the end.
#include "kernel_lib/time/rtc.h"

namespace kl::time {

u64 unix_seconds(const CivilTime& t)
{
    if (t.year < 1970 || t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.minute > 59 ||
        t.second > 60)
        return 0;
    const u64 y = t.month <= 2 ? t.year - 1 : t.year;
    const u64 era = y / 400;
    const u64 year_of_era = y - era * 400;
    const u64 month_from_march = t.month > 2 ? t.month - 3 : t.month + 9;
    const u64 day_of_year = (153 * month_from_march + 2) / 5 + t.day - 1;
    const u64 day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    const u64 days = era * 146097 + day_of_era - 719468;  // 719468: 0000-03-01 to 1970-01-01
    return days * 86400 + t.hour * 3600ull + t.minute * 60ull + t.second;
}

}
