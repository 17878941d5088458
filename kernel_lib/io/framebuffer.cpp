// Text cells on a linear framebuffer (see framebuffer.h).
#include "kernel_lib/io/framebuffer.h"

namespace kl::fb {

namespace {

// The 16 colours of VGA text mode (the CGA palette, dark yellow as brown), as 0xRRGGBB.
constexpr u32 vga_rgb[16] = { 0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
    0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF };

// An 8-bit channel placed in `mask`: its top bits where the mask's bits are.
u32 channel(u32 mask, u8 value)
{
    if (mask == 0)
        return 0;
    u32 shift = __builtin_ctz(mask);
    u32 bits = __builtin_popcount(mask);
    u32 scaled = bits >= 8 ? static_cast<u32>(value) << (bits - 8) : static_cast<u32>(value) >> (8 - bits);
    return (scaled << shift) & mask;
}

u32* row_at(const Surface& s, u32 y) { return reinterpret_cast<u32*>(s.base + static_cast<u64>(y) * s.pitch); }

// Fills `lines` pixel rows of one cell from pixel row `y`, `x` with the given colours per
// bit of the glyph rows.
void paint(const Surface& s, u32 x, u32 y, const u8* glyph_rows, u32 count, u32 foreground, u32 background)
{
    for (u32 gy = 0; gy < count; ++gy) {
        for (u32 sy = 0; sy < s.scale; ++sy) {
            u32* out = row_at(s, y + (gy * s.scale) + sy) + x;
            for (u32 gx = 0; gx < cell_width; ++gx) {
                u32 colour = (glyph_rows[gy] & (0x80 >> gx)) ? foreground : background;
                for (u32 sx = 0; sx < s.scale; ++sx)
                    *out++ = colour;
            }
        }
    }
}

}

u32 pixel(const Format& f, u8 red, u8 green, u8 blue)
{
    return channel(f.red_mask, red) | channel(f.green_mask, green) | channel(f.blue_mask, blue);
}

bool setup(Surface& s, const Format& f, u32 columns, u32 rows)
{
    u32 grid_width = columns * cell_width, grid_height = rows * cell_height;
    if (f.address == 0 || f.bpp != 32 || f.width < grid_width || f.height < grid_height || f.pitch < f.width * 4)
        return false;
    s.base = reinterpret_cast<u8*>(f.address);
    s.pitch = f.pitch;
    s.width = f.width;
    s.height = f.height;
    s.scale = f.width / grid_width < f.height / grid_height ? f.width / grid_width : f.height / grid_height;
    s.origin_x = (f.width - grid_width * s.scale) / 2;
    s.origin_y = (f.height - grid_height * s.scale) / 2;
    for (u32 i = 0; i < 16; ++i)
        s.palette[i] = pixel(f, static_cast<u8>(vga_rgb[i] >> 16), static_cast<u8>(vga_rgb[i] >> 8),
            static_cast<u8>(vga_rgb[i]));
    return true;
}

void clear(const Surface& s)
{
    for (u32 y = 0; y < s.height; ++y) {
        u32* out = row_at(s, y);
        for (u32 x = 0; x < s.width; ++x)
            out[x] = s.palette[0];
    }
}

void draw_cell(const Surface& s, u32 row, u32 column, const u8* glyph, u8 attribute)
{
    paint(s, s.origin_x + column * cell_width * s.scale, s.origin_y + row * cell_height * s.scale, glyph, cell_height,
        s.palette[attribute & 0x0F], s.palette[attribute >> 4]);
}

void draw_cursor(const Surface& s, u32 row, u32 column, u8 attribute)
{
    static const u8 bar[2] = { 0xFF, 0xFF };
    paint(s, s.origin_x + column * cell_width * s.scale,
        s.origin_y + (row * cell_height + cell_height - 2) * s.scale, bar, 2, s.palette[attribute & 0x0F],
        s.palette[attribute >> 4]);
}

}
