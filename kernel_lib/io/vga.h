// The text console: an 80x25 grid with colours, scrolling, a cursor, and the few ANSI
// sequences the console emits (ESC[K, ESC[nC/D, ESC[H, ESC[2J, ESC[...m), so one byte
// stream renders the same on a serial terminal and on the screen. It shows on VGA text
// mode (0xB8000) on BIOS boots, and on the framebuffer the UEFI loader hands over
// (kernel_lib/io/framebuffer.h: the same grid drawn with a bitmap font) on UEFI boots.
#pragma once

#include "kernel_lib/base/types.h"
#include "kernel_lib/boot/bootinfo.h"

namespace kl::vga {

enum Color : u8 {
    Black = 0, Blue = 1, Green = 2, Cyan = 3, Red = 4, Magenta = 5, Brown = 6, LightGray = 7,
    DarkGray = 8, LightBlue = 9, LightGreen = 10, LightCyan = 11, LightRed = 12, Pink = 13, Yellow = 14, White = 15,
};

constexpr int columns = 80;
constexpr int rows = 25;

// Picks the display from BootInfo: its framebuffer when the loader handed one over (the
// screen is cleared), none on a UEFI boot without one, else VGA text mode, continuing below
// what the BIOS and stage2 printed (reads the hardware cursor).
void init(const boot::BootInfo& info);
void write(const char* bytes, usize length);
// Moves the hardware cursor to where the text ends (writes leave it behind: moving it costs
// port writes, which are slow under a hypervisor). Called before waiting for input.
void sync_cursor();
void set_color(Color foreground, Color background = Black);
void clear();
// Writes a whole row without moving the cursor (status lines).
void write_row(int row, const char* text, Color foreground, Color background);
// Rows that scroll (a status line reserves the top row).
void set_scroll_top(int row);

}
