// Reading the CMOS real-time clock (see rtc.h): registers 0x00..0x09 through ports 0x70 and
// 0x71, read twice until two reads agree (the clock may tick in between), BCD and 12-hour
// formats as status register B says.
#include "kernel_lib/time/rtc.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::time {

namespace {

constexpr u16 cmos_select = 0x70;
constexpr u16 cmos_data = 0x71;

u8 cmos(u8 reg)
{
    x86::outb(cmos_select, reg);  // bit 7 clear: NMIs stay as they are (nothing uses them)
    return x86::inb(cmos_data);
}

struct Raw {
    u8 second, minute, hour, day, month, year, century;
    bool operator==(const Raw&) const = default;
};

Raw read_raw()
{
    for (u32 i = 0; i < 100000 && (cmos(0x0A) & 0x80); ++i) {
        // an update is in progress: it lasts under 2 ms
    }
    return { cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32) };
}

u32 from_bcd(u8 v) { return (v >> 4) * 10u + (v & 15u); }

}

u64 read_rtc_unix()
{
    Raw raw = read_raw();
    for (int tries = 0; tries < 5; ++tries) {
        const Raw again = read_raw();
        if (again == raw)
            break;
        raw = again;
    }
    const u8 status_b = cmos(0x0B);
    const bool binary = status_b & 0x04, twenty_four = status_b & 0x02;
    auto value = [&](u8 v) { return binary ? static_cast<u32>(v) : from_bcd(v); };
    const bool pm = !twenty_four && (raw.hour & 0x80);
    u32 hour = value(static_cast<u8>(raw.hour & 0x7F));
    if (!twenty_four)
        hour = (hour % 12) + (pm ? 12 : 0);
    const u32 century = raw.century ? value(raw.century) : 20;
    CivilTime t { century * 100 + value(raw.year), value(raw.month), value(raw.day), hour, value(raw.minute),
        value(raw.second) };
    return unix_seconds(t);
}

}
