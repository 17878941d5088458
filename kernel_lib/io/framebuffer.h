// Text cells drawn on a linear framebuffer: the second back end of the kl::vga console
// (vga.kernel.cpp), used when the UEFI loader hands over a GOP framebuffer instead of VGA
// text mode. The grid keeps the console's 80x25 cells of 8x16 pixels, drawn with a bitmap
// font at the largest whole scale that fits the screen, centred, in the VGA palette.
//
// Shared code: the host tests draw into a buffer in memory (tests/host/kernel_lib/io_framebuffer_test.cpp);
// tests/qemu/screen_test.py finds the grid in a screendump with the same layout rule.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::fb {

constexpr u32 cell_width = 8;
constexpr u32 cell_height = 16;
constexpr u32 glyph_bytes = cell_height;  // one byte per pixel row, the leftmost pixel in bit 7

struct Format {
    u64 address;
    u32 width, height;  // pixels
    u32 pitch;          // bytes per scan line
    u32 bpp;
    u32 red_mask, green_mask, blue_mask;
};

struct Surface {
    u8* base;
    u32 pitch;
    u32 width, height;
    u32 scale;               // every font pixel is scale x scale screen pixels
    u32 origin_x, origin_y;  // the grid's top left corner
    u32 palette[16];         // the VGA colours as pixel values
};

// The pixel value of an 8-bit-per-channel colour in the format's masks.
u32 pixel(const Format& format, u8 red, u8 green, u8 blue);

// Lays out `columns` x `rows` cells; false when the format is not 32 bits per pixel or the
// grid does not fit at scale 1.
bool setup(Surface& surface, const Format& format, u32 columns, u32 rows);

// Paints the whole framebuffer black (the border around the grid too).
void clear(const Surface& surface);

// Draws one cell: `glyph` (glyph_bytes) in the attribute's foreground colour (low nibble)
// on its background colour (high nibble), as VGA text mode shows a character.
void draw_cell(const Surface& surface, u32 row, u32 column, const u8* glyph, u8 attribute);

// The text cursor: the cell's two bottom pixel rows in its foreground colour.
void draw_cursor(const Surface& surface, u32 row, u32 column, u8 attribute);

}
