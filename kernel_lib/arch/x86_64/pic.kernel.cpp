// 8259 PIC remap/mask and 8254 PIT channel 2 timing (see pic.h).
#include "kernel_lib/arch/x86_64/pic.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::arch {

namespace {

constexpr u16 pic1_command = 0x20, pic1_data = 0x21, pic2_command = 0xA0, pic2_data = 0xA1;
constexpr u16 pit_channel2 = 0x42, pit_command = 0x43, pit_gate = 0x61;
constexpr u32 pit_hz = 1193182;

}

void init_pic()
{
    using namespace x86;
    outb(pic1_command, 0x11);  // ICW1: initialise, ICW4 follows
    io_wait();
    outb(pic2_command, 0x11);
    io_wait();
    outb(pic1_data, pic_vector_base);  // ICW2: vector offsets
    io_wait();
    outb(pic2_data, pic_vector_base + 8);
    io_wait();
    outb(pic1_data, 4);  // ICW3: slave on line 2
    io_wait();
    outb(pic2_data, 2);
    io_wait();
    outb(pic1_data, 0x01);  // ICW4: 8086 mode
    io_wait();
    outb(pic2_data, 0x01);
    io_wait();
    outb(pic1_data, 0xFF);  // mask everything
    outb(pic2_data, 0xFF);
}

void pic_eoi(u8 irq)
{
    if (irq >= 8)
        x86::outb(pic2_command, 0x20);
    x86::outb(pic1_command, 0x20);
}

bool pic_is_spurious(u8 irq)
{
    u16 command = irq >= 8 ? pic2_command : pic1_command;
    x86::outb(command, 0x0B);  // read the in-service register
    u8 in_service = x86::inb(command);
    return !(in_service & (1 << (irq & 7)));
}

u64 pit_measure_tsc(u32 microseconds)
{
    using namespace x86;
    u32 ticks = static_cast<u32>(static_cast<u64>(pit_hz) * microseconds / 1000000);
    if (ticks == 0 || ticks > 0xFFFF)
        return 0;
    // Channel 2 gate on, speaker off; mode 0 (interrupt on terminal count), binary.
    outb(pit_gate, static_cast<u8>((inb(pit_gate) & ~0x02) | 0x01));
    outb(pit_command, 0xB0);
    outb(pit_channel2, static_cast<u8>(ticks & 0xFF));
    outb(pit_channel2, static_cast<u8>(ticks >> 8));
    // Restart the count by toggling the gate.
    u8 gate = inb(pit_gate);
    outb(pit_gate, static_cast<u8>(gate & ~0x01));
    outb(pit_gate, static_cast<u8>(gate | 0x01));
    u64 start = rdtsc_begin();
    // OUT2 (bit 5 of port 0x61) goes high at terminal count. Bound the wait by the TSC so a
    // PIT that never counts cannot hang us (10 G cycles is seconds on any machine).
    while (!(inb(pit_gate) & 0x20)) {
        if (rdtsc() - start > 10'000'000'000ull)
            return 0;
    }
    return rdtsc_end() - start;
}

}
